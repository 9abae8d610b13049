"""The command line: a thin click + rich shell over the library."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable
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


def _probe_all(images: list[tuple[str, ProbeOptions]], quiet: bool, jobs: int = 1) -> list[ProbeResult]:
    """Probe images in a session (cleaned up on Ctrl-C), with progress on stderr."""
    live = LiveProgress(err, [i for i, _ in images]) if err.is_terminal and not quiet and len(images) > 1 else None
    observer: Any = live or LineProgress(err, quiet)
    with session(runtime_factory) as rt, live.live if live is not None else contextlib.nullcontext():
        return probe_many(rt, images, jobs, observer, live.done if live is not None else None)


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
    help="What stdout gets: table, json (full report), mounts (ECS fragment), markdown, junit, sarif.",
)
@click.option(
    "--report",
    "reports",
    multiple=True,
    metavar="FORMAT=PATH",
    help="Also write FORMAT to PATH (atomically; - is stdout). Repeatable.",
)
@click.option(
    "--launch-type",
    type=click.Choice(["EC2", "FARGATE"]),
    default="EC2",
    show_default=True,
    help="Volume rules for the mounts format.",
)
@click.option("--baseline", type=click.Path(dir_okay=False), help="Fail only on writable paths this baseline lacks.")
@click.option("--update-baseline", is_flag=True, help="Write the results into --baseline.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def probe(
    images: tuple[str, ...],
    images_from: str | None,
    fmt: str,
    reports: tuple[str, ...],
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
    opts = to_options(kw)
    try:
        results = _probe_all([(t, opts) for t in dict.fromkeys(targets)], quiet, kw["jobs"])
    except NotProbed as e:  # write what is complete to every report, then exit 2
        if e.results:
            emit(Report(e.results, launch_type=launch_type), fmt, report_list)
        raise
    regress = bl.regressions(results, known) if known is not None and not update_baseline else {}
    report = Report(results, regress, baseline_used=known is not None and not update_baseline, launch_type=launch_type)
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
def scan(paths: tuple[str, ...], fmt: str) -> None:
    """Check task definitions (JSON, describe output, Terraform, CloudFormation, directories) for ECS.5.

    Static, no Docker. Exit 1 when any container fails, 2 on malformed input.
    """
    from ecs5probe import scan as scan_paths

    FAILED = "FAILED"

    found = scan_paths(list(paths))
    rows = [(s, v) for s, verdicts in found for v in verdicts]
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "file": s.file,
                        "line": s.line,
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
        for col in ("file:line", "task definition", "container", "verdict", "reason"):
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
        out.print(", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n) or "no task definitions found")
    sys.exit(1 if any(v.verdict == FAILED for _, v in rows) else 0)


def _one_document(path: str, platform: Any) -> Any:
    from ecs5probe.errors import TaskDefinitionError
    from ecs5probe.platforms import read

    found = list(read(Path(path), platform=platform))
    if len(found) != 1:
        raise TaskDefinitionError(f"{path}: holds {len(found)} task definitions; fix takes one per file")
    if found[0].unresolved:
        raise TaskDefinitionError(f"{path}: {found[0].unresolved}")
    return found[0]


def _fix_one(
    rt: Runtime,
    platform: Any,
    taskdef: str,
    body: dict[str, Any],
    mapping: dict[str, str],
    opts: ProbeOptions,
    launch_type: str | None,
    fmt: str,
    dry_run: bool,
    quiet: bool,
) -> str | None:
    """Probe and patch one document; its text in ``fmt`` (None: a container cannot be fixed)."""
    from ecs5probe.fix import fix as fix_document

    result = fix_document(rt, platform, body, mapping, opts, launch_type, LineProgress(err, quiet))
    for name, r in result.results.items():
        mark = "[green]verified[/]" if r.verified else "[red]NOT verified[/]"
        mounts = ", ".join(m.container_path for m in r.required_mounts) or "none"
        err.print(f"{taskdef}: {name}: {mark}: {r.reason}; mounts: {mounts}")
    for note in result.notes:
        err.print(f"[yellow]note:[/] {note}")
    if not result.verified:
        err.print(f"[red]not written:[/] {taskdef}: a container cannot be made to work read-only")
        return None
    td = result.document
    name = re.sub(r"[^A-Za-z0-9_]", "_", str(td.get("family", "this"))) if fmt == "terraform" else "TaskDefinition"
    if dry_run:
        import difflib

        from rich.syntax import Syntax

        before = json.dumps(body, indent=2).splitlines()
        after = json.dumps(td, indent=2).splitlines()
        diff = "\n".join(difflib.unified_diff(before, after, f"{taskdef} (before)", "after", lineterm=""))
        Console(highlight=False).print(Syntax(diff or "(no change)", "diff", theme="ansi_dark"))
    return str(platform.render(td, fmt, name))


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
    help="Volume rules (default: from requiresCompatibilities).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "terraform", "cloudformation"]),
    default="json",
    show_default=True,
    help="json: ready for register-task-definition --cli-input-json.",
)
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    help="Where to write (atomically); - is stdout; a directory for several task definitions.",
)
@click.option("--dry-run", is_flag=True, help="Show the before/after difference; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def fix(
    taskdefs: tuple[str, ...],
    images: tuple[str, ...],
    launch_type: str | None,
    fmt: str,
    output: str,
    dry_run: bool,
    quiet: bool,
    **kw: Any,
) -> None:
    """Probe every container of each TASKDEF as it is defined, and write the fixed task definition.

    readonlyRootFilesystem true on every container, plus the writable mounts each one needs.
    Exit 1 when a container cannot be made to work read-only (that definition is not written).
    """
    from ecs5probe.platforms import get

    platform = get("ecs")
    many = len(taskdefs) > 1
    if many and not dry_run and not os.path.isdir(output):
        raise click.BadParameter(
            "with several task definitions, --output must be an existing directory", param_hint="--output"
        )
    if not many and not dry_run:
        check_writable(output, "--output")
    docs = [(t, _one_document(t, platform)) for t in taskdefs]  # read and check all before probing any
    mapping = parse_images(images)
    suffix = {"json": ".json", "terraform": ".tf", "cloudformation": ".cfn.json"}[fmt]
    failed = False
    with session(runtime_factory) as rt:
        for taskdef, doc in docs:
            text = _fix_one(rt, platform, taskdef, doc.body, mapping, to_options(kw), launch_type, fmt, dry_run, quiet)
            if text is None:
                failed = True
            elif not dry_run:
                target = os.path.join(output, Path(taskdef).name.split(".")[0] + ".fixed" + suffix) if many else output
                write_atomically(target, text)
    sys.exit(1 if failed else 0)
