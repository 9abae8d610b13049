"""`scan` and `fix`: documents of every platform, from files or (ECS) the live account."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from ecs5probe.app.fix import format_for, read_documents, target_path
from ecs5probe.app.many import session
from ecs5probe.cli.config import config_option
from ecs5probe.cli.files import check_writable, parse_images, parse_reports, write_atomically, write_reports
from ecs5probe.cli.options import (
    compose_files_option,
    format_option,
    launch_type_option,
    platform_option,
    probe_options,
    report_option,
    to_options,
    verbose_option,
)
from ecs5probe.cli.progress import LineProgress
from ecs5probe.cli.shell import Command, err, runtime_factory
from ecs5probe.core.options import ProbeOptions
from ecs5probe.core.ports import Runtime
from ecs5probe.model import PlatformName, ProbeResult
from ecs5probe.platforms import all_controls
from ecs5probe.render.interface import Report


@click.command(cls=Command)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--aws", "use_aws", is_flag=True, help="Read the live account's task definitions with boto3.")
@click.option("--region", help="AWS region  [default: AWS_REGION / AWS_DEFAULT_REGION / the profile's]")
@click.option("--family", "families", multiple=True, help="With --aws: only this family (repeatable)  [default: all]")
@format_option(["table", "json", "sarif", "junit"], "table")
@click.option(
    "--skip-other-files",
    is_flag=True,
    help="A named file that holds no task definition, manifest or Compose file is skipped, not an error "
    "(for pre-commit, which passes every YAML file).",
)
@click.option(
    "--control",
    "controls",
    multiple=True,
    type=click.Choice(all_controls()),
    help="Only this control (repeatable): ECS.5, ECS.20, ECS.4; CKV_K8S_22, CKV_K8S_23 (non-root), CKV_K8S_20 "
    "(no privilege escalation), CKV_K8S_37 (drop ALL), CKV_K8S_16 (not privileged); Compose read_only, user, "
    "privileged  [default: all]",
)
@click.option(
    "--allow-unknown",
    is_flag=True,
    help="A control that cannot be decided statically (UNKNOWN), or a file that cannot be judged (a template), "
    "does not fail the run  [default: it fails it: exit 1]",
)
@click.option("--soft-fail", is_flag=True, help="Exit 0 whatever the findings (as Checkov's --soft-fail).")
@click.option(
    "--hard-fail-on",
    multiple=True,
    metavar="ID",
    help="Only findings of these controls fail the run (repeatable; wildcards: CKV_K8S_*).",
)
@click.option(
    "--soft-fail-on",
    multiple=True,
    metavar="ID",
    help="Findings of these controls do not fail the run (repeatable; wildcards: CKV_K8S_*).",
)
@compose_files_option(
    "Compose: merge this file over each Compose file scanned, in order, as docker compose -f does "
    "(repeatable); with no PATH, the first is the project's file: scan -f compose.yaml -f compose.prod.yaml."
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    help="Compose: only the services of these profiles and those without one  [default: COMPOSE_PROFILES, else "
    "every service]",
)
@click.option("--env-file", metavar="FILE", help="Compose: interpolate with this file  [default: the project's .env]")
@config_option
@platform_option(None, "Only this platform's documents  [default: every platform's]")
def scan(
    paths: tuple[str, ...],
    use_aws: bool,
    region: str | None,
    families: tuple[str, ...],
    fmt: str,
    platform_name: PlatformName | None,
    skip_other_files: bool,
    controls: tuple[str, ...],
    allow_unknown: bool,
    soft_fail: bool,
    hard_fail_on: tuple[str, ...],
    soft_fail_on: tuple[str, ...],
    compose_files: tuple[str, ...],
    profiles: tuple[str, ...],
    env_file: str | None,
) -> None:
    """Check documents for a read-only root filesystem: ECS task definitions (JSON, describe output,
    Terraform, CloudFormation) for ECS.5, Kubernetes manifests for CKV_K8S_22, Compose files for
    read_only. Directories are walked; - reads standard input (helm template . | ecs5probe scan -).

    Static, no Docker. Exit 1 when a container fails or cannot be judged (UNKNOWN), 2 when a file cannot
    be read; suppressed findings never fail.
    """
    from ecs5probe.app.scanning import STDIN, ComposeProject, Level, Policy
    from ecs5probe.app.scanning import scan as scan_rows
    from ecs5probe.render.scan import to_json, to_junit, to_sarif, to_table

    if not paths and compose_files:  # as docker compose -f a -f b: the first file, the others over it
        paths, compose_files = compose_files[:1], compose_files[1:]
    if not paths and not use_aws:
        raise click.UsageError("nothing to scan: give PATH... or --aws")
    if families and not use_aws:
        raise click.UsageError("--family needs --aws")
    _exist((*compose_files, *([env_file] if env_file else [])), "--compose-file/--env-file")
    stdin = click.get_text_stream("stdin").read() if STDIN in paths else None
    project = ComposeProject(compose_files, profiles, env_file)
    result = scan_rows(
        paths, platform_name, region, families, use_aws, skip_other_files, controls or None, project, stdin
    )
    for p in result.problems:
        where = f"{p.file}:{p.line}" if p.line else p.file
        tag = "[red]error:[/]" if p.level is Level.ERROR else "[yellow]not judged:[/]"
        err.print(f"{tag} {escape(where)}: {escape(p.message)}")
    if controls and result.documents and not result.rows:
        raise click.UsageError(
            f"--control {', '.join(controls)}: none of the {result.documents} document(s) found has this control "
            "(each platform has its own: see --help)"
        )
    if fmt in ("json", "sarif", "junit"):
        click.echo({"json": to_json, "sarif": to_sarif, "junit": to_junit}[fmt](result), nl=False)
    else:
        out = Console()  # on a terminal: its width and colours; elsewhere (CI logs, files) 160 columns
        terminal = out.is_terminal
        click.echo(to_table(result, out.width if terminal else 160, color=terminal), nl=False)
    sys.exit(result.exit_code(Policy(allow_unknown, soft_fail, hard_fail_on, soft_fail_on)))


def _exist(files: Any, hint: str) -> None:
    for f in files:
        if not os.path.isfile(f):
            raise click.BadParameter(f"{f}: no such file", param_hint=hint)


def _fix_file(
    rt: Runtime,
    path: str,
    found: tuple[Any, list[Any]],
    mapping: dict[str, str],
    opts: ProbeOptions,
    launch_type: str | None,
    fmt: str,
    dry_run: bool,
    quiet: bool,
    pull: str = "missing",
    attach: str | None = None,
    probed: list[ProbeResult] | None = None,
) -> str | None:
    """Fix one file (a library call) and tell how: its text, or None when nothing is to be written;
    each container's probe is added to ``probed`` (the reports)."""
    from ecs5probe.app.fix import fix_file

    done = fix_file(rt, path, found, mapping, opts, fmt, launch_type, LineProgress(err, quiet), pull, attach)
    for name, result in done.fixes:
        _tell(f"{path}: {name}" if len(done.fixes) > 1 else path, result)
        if probed is not None:
            probed.extend(c.result for c in result.containers)
    if done.text is None:
        err.print(f"[red]not written:[/] {escape(path)}: a container cannot be made to work read-only")
        return None
    for note in done.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if dry_run:
        _show_diff(path, done.before, done.after)
    return done.text


def _tell(where: str, result: Any) -> None:
    """One line per container (verified or not, why, its mounts), then the notes."""
    for c in result.containers:
        r = c.result
        mark = "[green]verified[/]" if r.verified else "[red]NOT verified[/]"
        mounts = ", ".join(m.container_path for m in r.required_mounts) or "none"
        err.print(f"{escape(where)}: {escape(c.name)}: {mark}: {escape(r.reason)}; mounts: {escape(mounts)}")
        p = r.privilege
        if p is not None:
            caps = (
                ("drop ALL" + (f", add {', '.join(p.cap_add)}" if p.cap_add else "")) if p.cap_drop else "as they were"
            )
            user = p.user or "as it was"
            sysctls = escape("".join(f"; sysctl {k}={v}" for k, v in p.sysctls))
            said = f"least privilege: user {escape(user)}; capabilities: {caps}{sysctls}"
            err.print(f"{escape(where)}: {escape(c.name)}: {said}")
    if result.together is not None:
        t = result.together
        mark = "[green]verified together[/]" if t.verified else "[red]NOT verified together[/]"
        err.print(f"{escape(where)}: the whole deployment: {mark}: {escape(t.reason)}")
    for note in result.notes:
        err.print(f"[yellow]note:[/] {escape(note)}")


def _show_diff(path: str, before: str, after: str) -> None:
    import difflib

    from rich.syntax import Syntax

    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), f"{path} (before)", "after", lineterm="")
    Console(highlight=False).print(Syntax("\n".join(lines) or "(no change)", "diff", theme="ansi_dark"))


@click.command(cls=Command)
@click.argument("taskdefs", nargs=-1)
@click.option("--aws", "use_aws", is_flag=True, help="Read the live account's task definitions with boto3.")
@click.option("--region", help="AWS region  [default: AWS_REGION / AWS_DEFAULT_REGION / the profile's]")
@click.option("--register", is_flag=True, help="With --aws: register each fixed definition as a new revision.")
@click.option(
    "--from-security-hub", is_flag=True, help="With --aws: fix the families of the account's failing ECS.5 findings."
)
@probe_options
@click.option(
    "--image",
    "images",
    multiple=True,
    metavar="NAME=LOCAL",
    help="Probe local image LOCAL for the definition's image NAME. Repeatable.",
)
@launch_type_option(None, "ECS volume rules (default: from requiresCompatibilities).")
@format_option(
    ["json", "terraform", "cloudformation", "yaml", "override"],
    None,
    "ECS: json (ready for register-task-definition --cli-input-json; the default), terraform, "
    "cloudformation. Kubernetes: yaml. Compose: yaml (the patched file) or override (an override file; "
    "the default when --output ends in override.yml).",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    help="Where to write (atomically); - is stdout; a directory for several files.",
)
@click.option(
    "--attach-network",
    metavar="NAME",
    help="Attach each deployment to this Docker network, where what it needs from outside runs (a database "
    "of another stack, an API)  [default: none: its containers reach only each other]",
)
@compose_files_option(
    "Compose: merge this file over the Compose file fixed, in order, as docker compose -f does "
    "(repeatable; the project's default override file is then not read)  [default: the default override]"
)
@report_option()
@click.option("--dry-run", is_flag=True, help="Show the before/after difference; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
@verbose_option
@config_option
def fix(
    taskdefs: tuple[str, ...],
    use_aws: bool,
    region: str | None,
    register: bool,
    from_security_hub: bool,
    images: tuple[str, ...],
    launch_type: str | None,
    fmt: str | None,
    output: str,
    attach_network: str | None,
    compose_files: tuple[str, ...],
    reports: tuple[str, ...],
    dry_run: bool,
    quiet: bool,
    verbose: bool,
    **kw: Any,
) -> None:
    """Probe every container of each file (ECS task definition, Kubernetes manifest, Compose file) as it
    is defined, and write the fixed file: the read-only flag on every container, plus the writable
    storage each one needs, verified under that platform's semantics.

    Exit 1 when a container cannot be made to work read-only (that file is not written).
    """
    if use_aws:
        _fix_account(taskdefs, region, register, from_security_hub, images, launch_type, output, quiet, kw)
    if register or from_security_hub:
        raise click.UsageError("--register and --from-security-hub need --aws")
    if not taskdefs:
        raise click.UsageError("no file given (FILE... or --aws FAMILY...)")
    for t in taskdefs:
        if not os.path.isfile(t):
            raise click.BadParameter(f"{t}: no such file", param_hint="FILE")
    many = len(taskdefs) > 1
    if many and not dry_run and not os.path.isdir(output):
        raise click.BadParameter("with several files, --output must be an existing directory", param_hint="--output")
    if not many and not dry_run:
        check_writable(output, "--output")
    _exist(compose_files, "--compose-file")
    files = [(t, read_documents(t, compose_files)) for t in taskdefs]  # read and check all before probing any
    formats = {t: format_for(found[0], fmt, output) for t, found in files}
    mapping = parse_images(images)
    failed = False
    report_list, probed = parse_reports(reports), list[ProbeResult]()
    with session(runtime_factory()) as rt:
        for path, found in files:
            opts = to_options(kw)
            fmt_, pull = formats[path], kw["pull"]
            text = _fix_file(
                rt, path, found, mapping, opts, launch_type, fmt_, dry_run, quiet, pull, attach_network, probed
            )
            if text is None:
                failed = True
            elif not dry_run:
                write_atomically(target_path(path, output, formats[path]) if many else output, text)
    platform = files[0][1][0].name  # whose fragment the mounts format writes
    write_reports(Report(probed, launch_type=launch_type or "EC2", platform=platform), report_list)
    cannot = [r for r in probed if r.privilege is not None and r.privilege.cannot]
    sys.exit(1 if failed or cannot else 0)


def _fix_account(
    families: tuple[str, ...],
    region: str | None,
    register: bool,
    from_security_hub: bool,
    images: tuple[str, ...],
    launch_type: str | None,
    output: str,
    quiet: bool,
    kw: dict[str, Any],
) -> None:
    """``fix --aws``: each family's latest ACTIVE revision, probed as defined; written, or registered
    (nothing is registered when any container cannot be fixed)."""
    from ecs5probe.app.fix import fix as fix_document
    from ecs5probe.platforms import get
    from ecs5probe.platforms.ecs.account import Account

    account = Account(region)
    if from_security_hub:
        families = (*families, *(f for f in account.failing_families() if f not in families))
        err.print(f"Security Hub: {len(families)} family(ies) fail ECS.5")
    if not families:
        raise click.UsageError("no family given (--aws FAMILY... or --from-security-hub)")
    if not register and len(families) > 1 and not os.path.isdir(output):
        raise click.BadParameter("with several families, --output must be an existing directory", param_hint="--output")
    if not register and len(families) == 1 and not os.path.isdir(output):
        check_writable(output, "--output")
    docs = list(account.documents(families))
    ecs, mapping, fixed, ok = get("ecs"), parse_images(images), [], True
    with session(runtime_factory()) as rt:
        for doc in docs:
            result = fix_document(
                rt, ecs, doc.body, mapping, to_options(kw), launch_type, LineProgress(err, quiet), kw["pull"]
            )
            _tell(doc.name, result)
            ok = ok and result.verified
            fixed.append((doc, result.document))
    if not ok:
        err.print("[red]nothing registered or written:[/] a container cannot be made to work read-only")
        sys.exit(1)
    for _, td in fixed:
        if register:
            click.echo(account.register(td))
        else:
            text = json.dumps(td, indent=2) + "\n"
            target = os.path.join(output, f"{td['family']}.fixed.json") if os.path.isdir(output) else output
            write_atomically(target, text)
    sys.exit(0)
