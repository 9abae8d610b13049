"""The command line: a thin click + rich shell over the library."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ecs5probe import __version__
from ecs5probe.cli.files import (
    check_writable,
    emit,
    parse_images,
    parse_reports,
    read_images,
    write_atomically,
)
from ecs5probe.cli.options import DEFAULTS, probe_options, to_options
from ecs5probe.cli.progress import LineProgress, LiveProgress
from ecs5probe.core.options import ProbeOptions
from ecs5probe.core.ports import Runtime
from ecs5probe.errors import Ecs5ProbeError
from ecs5probe.many import NotProbed, probe_many, session
from ecs5probe.model import ProbeResult
from ecs5probe.platforms import PlatformName
from ecs5probe.render.formats import FORMATS
from ecs5probe.render.interface import Report

#: Replaced by tests with a fake; the CLI never constructs Docker objects elsewhere.
RuntimeFactory = Callable[[], Any]


def _docker_runtime() -> Any:
    from ecs5probe.runtime.docker import DockerRuntime

    return DockerRuntime()


runtime_factory: RuntimeFactory = _docker_runtime

err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(e: Ecs5ProbeError) -> None:
    err.print(f"[red]error:[/] {e}", soft_wrap=True)
    sys.exit(e.exit_code)


class _Command(click.Command):
    """Turns our errors into one line and an exit code; never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Ecs5ProbeError as e:
            _fail(e)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecs5probe")
def main() -> None:
    """Find the writable mounts an image needs to run with ECS.5's read-only root filesystem."""


def _probe_all(
    images: list[tuple[str, ProbeOptions]], quiet: bool, jobs: int = 1, pull: str | None = None
) -> list[ProbeResult]:
    """Probe images in a session (cleaned up on Ctrl-C), with progress on stderr."""
    live = LiveProgress(err, [i for i, _ in images]) if err.is_terminal and not quiet and len(images) > 1 else None
    observer: Any = live or LineProgress(err, quiet)
    with session(runtime_factory) as rt, live.live if live is not None else contextlib.nullcontext():
        return probe_many(rt, images, jobs, observer, live.done if live is not None else None, pull)


@main.command(cls=_Command)
@click.argument("images", nargs=-1)
@click.option("--images-from", metavar="FILE", help="More images, one per line (# comments); - is stdin.")
@probe_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="What stdout gets: table, json (full report), mounts (the --platform's fragment), markdown, junit, "
    "sarif, kubernetes (a strategic-merge patch), compose (a service override).",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=PATH",
    help="Also write FORMAT to PATH (atomically; - is stdout). Repeatable.",
)
@click.option(
    "--platform",
    "platform_name",
    type=click.Choice([p.value for p in PlatformName]),
    default="ecs",
    show_default=True,
    help="Whose storage verifies the mounts (ECS tmpfs and task volumes, Kubernetes emptyDir, Compose "
    "tmpfs and volumes), and whose fragment the mounts format writes.",
)
@click.option(
    "--launch-type",
    type=click.Choice(["EC2", "FARGATE"]),
    default="EC2",
    show_default=True,
    help="ECS volume rules for the mounts format.",
)
@click.option("--baseline", type=click.Path(dir_okay=False), help="Fail only on writable paths this baseline lacks.")
@click.option("--update-baseline", is_flag=True, help="Write the results into --baseline.")
@click.option(
    "--shard",
    metavar="K/N",
    help="Probe only shard K of N of the image list (by a hash of each name: every image in exactly one "
    "shard, the same on every machine); join the shards' JSON reports with `ecs5probe merge`.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def probe(
    images: tuple[str, ...],
    images_from: str | None,
    shard: str | None,
    fmt: str,
    reports: tuple[str, ...],
    platform_name: str,
    launch_type: str,
    baseline: str | None,
    update_baseline: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Probe local IMAGES and report the minimal verified set of writable mounts for each.

    Exit codes: 0 every image verified (and, with --baseline, needs nothing new); 1 an image cannot be
    made to work read-only, or needs a writable path the baseline lacks; 2 bad input or environment.
    """
    from ecs5probe.core import baseline as bl

    targets = list(images) + (read_images(images_from) if images_from else [])
    if not targets:
        raise click.UsageError("no image given (IMAGE... or --images-from FILE)")
    if shard:
        from ecs5probe import shard as shards

        k, n = shards.parse(shard)
        targets = shards.select(dict.fromkeys(targets), k, n)
        err.print(f"shard {k}/{n}: {len(targets)} image(s)")
    if update_baseline and not baseline:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    report_list = parse_reports(reports)
    known: dict[str, set[str]] | None = None
    if baseline and os.path.exists(baseline):
        try:
            known = bl.load(json.loads(open(baseline, encoding="utf-8").read()))
        except json.JSONDecodeError as e:
            raise click.BadParameter(f"{baseline}: malformed JSON: {e.msg}", param_hint="--baseline") from None
        except UnicodeDecodeError:
            raise click.BadParameter(f"{baseline}: not a JSON text file", param_hint="--baseline") from None
    elif baseline and not update_baseline:
        raise click.BadParameter(
            f"{baseline}: no such file (create it with --update-baseline)", param_hint="--baseline"
        )
    opts = replace(to_options(kw), platform=platform_name)
    if not targets:  # an empty shard: an empty report, nothing failed
        emit(Report([], launch_type=launch_type, platform=platform_name), fmt, report_list)
        sys.exit(0)
    try:
        results = _probe_all([(t, opts) for t in dict.fromkeys(targets)], quiet, kw["jobs"], kw["pull"])
    except NotProbed as e:  # write what is complete to every report, then exit 2
        if e.results:
            emit(Report(e.results, launch_type=launch_type, platform=platform_name), fmt, report_list)
        raise
    regress = bl.regressions(results, known) if known is not None and not update_baseline else {}
    used = known is not None and not update_baseline
    report = Report(results, regress, baseline_used=used, launch_type=launch_type, platform=platform_name)
    emit(report, fmt, report_list)
    if update_baseline and baseline:
        write_atomically(baseline, json.dumps(bl.build(results, known), indent=2) + "\n")
    sys.exit(1 if any(report.failed(r) for r in results) else 0)


@main.command(cls=_Command)
@click.option("--only", multiple=True, metavar="NAME", help="Probe only samples whose name contains NAME.")
@click.option("--no-debian", is_flag=True, help="Skip the samples that need a debootstrap Debian base.")
@click.option("--rebuild", is_flag=True, help="Rebuild the sample images even when present.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=DEFAULTS.jobs, show_default=True, help="Samples probed at once."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def demo(only: tuple[str, ...], no_debian: bool, rebuild: bool, fmt: str, jobs: int, quiet: bool) -> None:
    """Build the bundled sample images when missing and probe each one."""
    from ecs5probe import samples as sm

    chosen = [s for s in sm.load_samples() if (not only or any(o in s.name for o in only))]
    if no_debian:
        chosen = [s for s in chosen if s.base != "debian"]
    if not chosen:
        raise click.UsageError("no sample matches")
    with session(runtime_factory) as rt:
        from ecs5probe.runtime.docker import build_image, image_exists

        docker_rt: Any = rt  # the samples are built with the Docker runtime itself
        sm.build_samples(
            chosen,
            lambda ctx, tag: build_image(docker_rt, ctx, tag),
            lambda tag: image_exists(docker_rt, tag),
            log=lambda s: err.print(f"[dim]{s}[/]"),
            rebuild=rebuild,
        )
    todo = [(s.tag, ProbeOptions(**s.options)) for s in chosen]
    results = _probe_all(todo, quiet, jobs)
    emit(Report(results), fmt, [])
    ok = sum(r.verified for r in results)
    err.print(f"\n[bold]{ok}/{len(results)} samples verified[/]")
    sys.exit(max(r.exit_code for r in results))


@main.command(cls=_Command)
@click.argument("reports", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "baseline"]),
    default="table",
    show_default=True,
    help="What stdout gets: any probe format, or a baseline file of the merged results.",
)
@click.option(
    "--report",
    "reports_out",
    multiple=True,
    metavar="FORMAT=PATH",
    help="Also write FORMAT to PATH (atomically; - is stdout). Repeatable.",
)
@click.option(
    "--platform",
    "platform_name",
    type=click.Choice([p.value for p in PlatformName]),
    default="ecs",
    show_default=True,
    help="Whose fragment the mounts format writes.",
)
@click.option(
    "--launch-type", type=click.Choice(["EC2", "FARGATE"]), default="EC2", show_default=True, help="ECS volume rules."
)
def merge(
    reports: tuple[str, ...], fmt: str, reports_out: tuple[str, ...], platform_name: str, launch_type: str
) -> None:
    """Join the JSON reports of several `probe --shard K/N` runs into one report, in any format.

    Exit 1 when a merged image is not verified, 2 on a malformed or overlapping report.
    """
    from ecs5probe import shard as shards
    from ecs5probe.core import baseline as bl

    report_list = parse_reports(reports_out)
    docs = []
    for path in reports:
        try:
            docs.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise click.BadParameter(f"{path}: not a JSON report ({e})", param_hint="REPORTS") from None
    try:
        results = shards.merge(docs)
    except Ecs5ProbeError as e:
        raise click.BadParameter(str(e), param_hint="REPORTS") from None
    report = Report(results, launch_type=launch_type, platform=platform_name)
    if fmt == "baseline":
        for f, path in report_list:
            write_atomically(path, f.to_renderer()(report))
        click.echo(json.dumps(bl.build(results), indent=2))
    else:
        emit(report, fmt, report_list)
    sys.exit(1 if any(report.failed(r) for r in results) else 0)


@main.command(cls=_Command)
@click.option("--all", "everything", is_flag=True, help="Also remove what live sessions are using.")
def cleanup(everything: bool) -> None:
    """Remove containers and volumes left by interrupted ecs5probe runs (by label)."""
    rt = runtime_factory()
    try:
        containers, volumes = rt.reap(dead_only=not everything)
        # the first contact with the daemon already removed what dead sessions left: count it too
        first = getattr(rt, "first_reaped", (0, 0))
        containers, volumes = containers + first[0], volumes + first[1]
    finally:
        rt.close()
    click.echo(f"removed {containers} container(s) and {volumes} volume(s)")


@main.command(cls=_Command)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--platform",
    "platform_name",
    type=click.Choice([p.value for p in PlatformName]),
    default=None,
    help="Only this platform's documents  [default: every platform's]",
)
def scan(paths: tuple[str, ...], fmt: str, platform_name: str | None) -> None:
    """Check documents for a read-only root filesystem: ECS task definitions (JSON, describe output,
    Terraform, CloudFormation) for ECS.5, Kubernetes manifests for CKV_K8S_22, Compose files for
    read_only. Directories are walked.

    Static, no Docker. Exit 1 when any container fails, 2 on malformed input.
    """
    from ecs5probe import scan as scan_paths

    FAILED = "FAILED"

    found = scan_paths(list(paths), platform_name)
    rows = [(s, v) for s, verdicts in found for v in verdicts]
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "file": s.file,
                        "line": s.line,
                        "platform": s.platform,
                        "name": s.name,
                        "kind": s.kind,
                        "container": v.container,
                        "verdict": v.verdict,
                        "reason": s.unresolved or v.reason,
                    }
                    for s, v in rows
                ],
                indent=2,
            )
        )
    else:
        out = Console(highlight=False, soft_wrap=True)
        if not out.is_terminal:
            out = Console(highlight=False, soft_wrap=True, width=160)  # CI logs and files: do not truncate
        t = Table(show_header=True, header_style="bold")
        for col in ("file:line", "document", "container", "verdict", "reason"):
            t.add_column(col)
        colour = {"PASSED": "green", "FAILED": "red", "UNKNOWN": "yellow", "NOT_APPLICABLE": "dim"}
        for s, v in rows:
            t.add_row(
                f"{s.file}:{s.line or '?'}",
                s.name,
                v.container,
                f"[{colour[v.verdict]}]{v.verdict}[/]",
                s.unresolved or v.reason,
            )
        out.print(t)
        counts = {k: sum(v.verdict == k for _, v in rows) for k in colour}
        out.print(", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n) or "no documents found")
    sys.exit(1 if any(v.verdict == FAILED for _, v in rows) else 0)


def _documents(path: str) -> tuple[Any, list[Any]]:
    """The platform and the documents of one file, checked before anything is probed."""
    from ecs5probe.errors import TaskDefinitionError
    from ecs5probe.platforms import get, read

    found = list(read(Path(path)))
    if not found:
        raise TaskDefinitionError(f"{path}: no document to fix")
    platform = get(found[0].platform)
    if len(found) != 1 and not platform.many_per_file:
        raise TaskDefinitionError(f"{path}: holds {len(found)} task definitions; fix takes one per file")
    for doc in found:
        if doc.unresolved:
            raise TaskDefinitionError(f"{path}: {doc.unresolved}")
    return platform, found


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
) -> str | None:
    """Probe and patch every document of one file; the file's text in ``fmt`` (None: a container
    cannot be fixed, nothing is written)."""
    from ecs5probe.fix import fix as fix_document

    platform, docs = found
    patched: list[Any] = []
    ok = True
    for doc in docs:
        result = fix_document(rt, platform, doc.body, mapping, opts, launch_type, LineProgress(err, quiet), pull)
        where = f"{path}: {doc.name}" if len(docs) > 1 else path
        for name, r in result.results.items():
            mark = "[green]verified[/]" if r.verified else "[red]NOT verified[/]"
            mounts = ", ".join(m.container_path for m in r.required_mounts) or "none"
            err.print(f"{where}: {name}: {mark}: {r.reason}; mounts: {mounts}")
        for note in result.notes:
            err.print(f"[yellow]note:[/] {note}")
        ok = ok and result.verified
        patched.append(result.document)
    if not ok:
        err.print(f"[red]not written:[/] {path}: a container cannot be made to work read-only")
        return None
    text = str(platform.write(docs, patched, fmt))
    if dry_run:
        if platform.name == "ecs":  # any input format: compare the task definitions themselves
            before, after = (json.dumps(d, indent=2) + "\n" for d in (docs[0].body, patched[0]))
        else:  # YAML in, YAML out: compare the files
            before, after = Path(path).read_text(encoding="utf-8", errors="replace"), text
        _show_diff(path, before, after)
    return text


def _show_diff(path: str, before: str, after: str) -> None:
    import difflib

    from rich.syntax import Syntax

    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), f"{path} (before)", "after", lineterm="")
    Console(highlight=False).print(Syntax("\n".join(lines) or "(no change)", "diff", theme="ansi_dark"))


@main.command(cls=_Command)
@click.argument("taskdefs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@probe_options
@click.option(
    "--image",
    "images",
    multiple=True,
    metavar="NAME=LOCAL",
    help="Probe local image LOCAL for the definition's image NAME. Repeatable.",
)
@click.option(
    "--launch-type",
    type=click.Choice(["EC2", "FARGATE"]),
    default=None,
    help="ECS volume rules (default: from requiresCompatibilities).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "terraform", "cloudformation", "yaml", "override"]),
    default=None,
    help="ECS: json (ready for register-task-definition --cli-input-json; the default), terraform, "
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
@click.option("--dry-run", is_flag=True, help="Show the before/after difference; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def fix(
    taskdefs: tuple[str, ...],
    images: tuple[str, ...],
    launch_type: str | None,
    fmt: str | None,
    output: str,
    dry_run: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Probe every container of each file (ECS task definition, Kubernetes manifest, Compose file) as it
    is defined, and write the fixed file: the read-only flag on every container, plus the writable
    storage each one needs, verified under that platform's semantics.

    Exit 1 when a container cannot be made to work read-only (that file is not written).
    """
    many = len(taskdefs) > 1
    if many and not dry_run and not os.path.isdir(output):
        raise click.BadParameter("with several files, --output must be an existing directory", param_hint="--output")
    if not many and not dry_run:
        check_writable(output, "--output")
    files = [(t, _documents(t)) for t in taskdefs]  # read and check all before probing any
    formats = {t: _format_for(found[0], fmt, output) for t, found in files}
    mapping = parse_images(images)
    failed = False
    with session(runtime_factory) as rt:
        for path, found in files:
            opts = to_options(kw)
            text = _fix_file(rt, path, found, mapping, opts, launch_type, formats[path], dry_run, quiet, kw["pull"])
            if text is None:
                failed = True
            elif not dry_run:
                write_atomically(_target(path, output, formats[path]) if many else output, text)
    sys.exit(1 if failed else 0)


_SUFFIX = {"json": ".json", "terraform": ".tf", "cloudformation": ".cfn.json", "yaml": ".yaml", "override": ".yaml"}


def _format_for(platform: Any, fmt: str | None, output: str) -> str:
    """The format asked for, checked against the file's platform; else the platform's default."""
    if fmt is None:
        if "override" in platform.formats and re.search(r"override\.ya?ml$", output):
            return "override"
        return str(platform.formats[0])
    if fmt not in platform.formats:
        raise click.BadParameter(
            f"{fmt!r} is not a {platform.name} format (one of: {', '.join(platform.formats)})", param_hint="--format"
        )
    return fmt


def _target(path: str, output: str, fmt: str) -> str:
    stem = Path(path).name.split(".")[0]
    middle = ".override" if fmt == "override" else ".fixed"
    return os.path.join(output, stem + middle + _SUFFIX[fmt])
