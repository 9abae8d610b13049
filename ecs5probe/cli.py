"""The command line: a thin click + rich shell over the library."""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ecs5probe import __version__
from ecs5probe.core.probe import TRACERS, ProbeOptions
from ecs5probe.errors import Cancelled, Ecs5ProbeError
from ecs5probe.model import ProbeResult, RunRecord
from ecs5probe.render import ecs as ecs_render
from ecs5probe.render import json as json_render
from ecs5probe.runtime.interface import Runtime

#: Replaced by tests with a fake; the CLI never constructs Docker objects elsewhere.
RuntimeFactory = Callable[[], Any]


def _docker_runtime() -> Any:
    from ecs5probe.runtime.docker import DockerRuntime

    return DockerRuntime()


runtime_factory: RuntimeFactory = _docker_runtime

err = Console(stderr=True, highlight=False, soft_wrap=True)


class _Progress:
    """Observer that prints one line per phase and per run to stderr."""

    def __init__(self, console: Console, quiet: bool):
        self.c = console
        self.quiet = quiet

    def phase(self, image: str, text: str) -> None:
        if not self.quiet:
            self.c.print(f"[dim]{image}:[/] {text}")

    def run_done(self, image: str, record: RunRecord) -> None:
        if not self.quiet:
            mark = "[green]pass[/]" if record.passed else "[red]fail[/]"
            self.c.print(f"[dim]{image}:[/]   {record.purpose}: {mark} ({record.reason}, {record.duration_seconds:.1f}s)")


@contextlib.contextmanager
def _session() -> Iterator[Runtime]:
    """A runtime whose containers are removed at the end, on Ctrl-C and on SIGTERM.

    The first signal only cancels: every wait in the runtime polls for it, so each run ends at a safe
    point and removes its own container (a request in flight completes first). A second signal
    interrupts at once; the label sweep in ``close`` still removes everything.
    """
    rt = runtime_factory()
    previous: dict[int, Any] = {}
    cancelled = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        if cancelled.is_set():
            raise KeyboardInterrupt
        cancelled.set()
        rt.cancel()

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        yield rt
        if cancelled.is_set():
            raise Cancelled("interrupted")
    except (KeyboardInterrupt, Cancelled):
        rt.cancel()
        raise Cancelled("interrupted: every container and volume of this run was removed") from None
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            rt.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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


def probe_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every probing command shares."""
    opts = [
        click.option("--health-cmd", help="Shell command that exits 0 when the app is healthy (overrides the image's)."),
        click.option("--job", is_flag=True, help="A one-shot job: success is exit code 0."),
        click.option("--settle", type=click.FloatRange(0.1, 600), default=3.0, show_default=True,
                     help="Without a health check: seconds the service must stay up."),
        click.option("--exercise", "exercises", multiple=True, metavar="CMD",
                     help="Shell command run in the container once it is healthy; must exit 0. Repeatable."),
        click.option("--timeout", type=click.FloatRange(1, 3600), default=60.0, show_default=True,
                     help="Seconds to wait for healthy (or for a job to finish)."),
        click.option("--start-period", type=click.FloatRange(0, 600), default=15.0, show_default=True,
                     help="Seconds during which failing health checks do not count."),
        click.option("--stop-grace", type=click.FloatRange(0.5, 120), default=5.0, show_default=True,
                     help="Seconds between the stop signal and SIGKILL."),
        click.option("--network", default="none", show_default=True,
                     help="Docker network for the image under test (loopback always works)."),
        click.option("--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True,
                     help="Containers run in parallel while minimising."),
        click.option("--no-minimise", is_flag=True, help="Skip the ablation runs."),
        click.option("--tracer", type=click.Choice(TRACERS), default="auto", show_default=True,
                     help="Evidence: auto (strace where it works, logs and docker diff always), one source alone, "
                          "or no-strace (logs and docker diff)."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _options(kw: dict[str, Any]) -> ProbeOptions:
    return ProbeOptions(
        health_cmd=kw["health_cmd"], job=kw["job"], settle=kw["settle"], exercises=tuple(kw["exercises"]),
        timeout=kw["timeout"], start_period=kw["start_period"], stop_grace=kw["stop_grace"],
        network=kw["network"], jobs=kw["jobs"], minimise=not kw["no_minimise"], tracer=kw["tracer"],
    )


def _probe_all(images: list[tuple[str, ProbeOptions]], quiet: bool) -> list[ProbeResult]:
    from ecs5probe import _probe_with

    with _session() as rt:
        return [_probe_with(rt, image, opts, _Progress(err, quiet)) for image, opts in images]


def _table(console: Console, r: ProbeResult) -> None:
    status = "[green]verified[/]" if r.verified else "[red]NOT verified[/]"
    console.print(f"\n[bold]{r.image}[/] ({r.user}): {status}: {r.reason}")
    if r.mounts:
        t = Table(show_header=True, header_style="bold")
        for col in ("containerPath", "kind", "options", "size", "required", "evidence"):
            t.add_column(col)
        for m in r.mounts:
            ev = "; ".join(f"{e.source}: {e.line}" for e in m.evidence[:2])
            t.add_row(m.container_path, m.kind, ",".join(m.mount_options) or "-", f"{m.size_mib} MiB",
                      "yes" if m.required else "no", ev)
        console.print(t)
    elif r.verified:
        console.print("needs no writable mount: set readonlyRootFilesystem to true as it is")
    for f in r.findings:
        console.print(f"[yellow]{f.kind}:[/] {f.message}")
    console.print(f"{len(r.runs)} runs, {r.duration_seconds:.1f}s")


def _emit(results: list[ProbeResult], fmt: str, launch_type: str) -> None:
    out = Console(highlight=False, soft_wrap=True)
    if fmt == "json":
        click.echo(json_render.render(results), nl=False)
    elif fmt == "mounts":
        for r in results:
            click.echo(ecs_render.render(r.mounts, launch_type), nl=False)  # type: ignore[arg-type]
    else:
        for r in results:
            _table(out, r)


FORMATS = ("table", "json", "mounts")


@main.command(cls=_Command)
@click.argument("image")
@probe_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: for people; json: the full report; mounts: the ECS fragment to paste.")
@click.option("--launch-type", type=click.Choice(["EC2", "FARGATE"]), default="EC2", show_default=True,
              help="Volume rules for --format mounts.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def probe(image: str, fmt: str, launch_type: str, quiet: bool, **kw: Any) -> None:
    """Probe IMAGE (a local image) and print the minimal verified set of writable mounts.

    Exit codes: 0 a verified set was found (or none is needed); 1 the image cannot be made to work
    read-only; 2 bad input or environment.
    """
    results = _probe_all([(image, _options(kw))], quiet)
    _emit(results, fmt, launch_type)
    sys.exit(max(r.exit_code for r in results))


@main.command(cls=_Command)
@click.option("--only", multiple=True, metavar="NAME", help="Probe only samples whose name contains NAME.")
@click.option("--no-debian", is_flag=True, help="Skip the samples that need a debootstrap Debian base.")
@click.option("--rebuild", is_flag=True, help="Rebuild the sample images even when present.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def demo(only: tuple[str, ...], no_debian: bool, rebuild: bool, fmt: str, quiet: bool) -> None:
    """Build the bundled sample images when missing and probe each one."""
    from ecs5probe import samples as sm

    chosen = [s for s in sm.load_samples() if (not only or any(o in s.name for o in only))]
    if no_debian:
        chosen = [s for s in chosen if s.base != "debian"]
    if not chosen:
        raise click.UsageError("no sample matches")
    with _session() as rt:
        from ecs5probe.runtime.docker import build_image, image_exists

        sm.build_samples(chosen, lambda ctx, tag: build_image(rt, ctx, tag),  # type: ignore[arg-type]
                         lambda tag: image_exists(rt, tag), log=lambda s: err.print(f"[dim]{s}[/]"),
                         rebuild=rebuild)
    todo = [(s.tag, ProbeOptions(**s.options)) for s in chosen]
    results = _probe_all(todo, quiet)
    _emit(results, fmt, "EC2")
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
    from ecs5probe.core.taskdef import FAILED

    found = scan_paths(list(paths))
    rows = [(s, v) for s, verdicts in found for v in verdicts]
    if fmt == "json":
        click.echo(json.dumps([{"file": s.file, "line": s.line, "name": s.name, "kind": s.kind, "container": v.container,
                                "verdict": v.verdict, "reason": s.unresolved or v.reason} for s, v in rows], indent=2))
    else:
        out = Console(highlight=False, soft_wrap=True)
        t = Table(show_header=True, header_style="bold")
        for col in ("file:line", "task definition", "container", "verdict", "reason"):
            t.add_column(col)
        colour = {"PASSED": "green", "FAILED": "red", "UNKNOWN": "yellow", "NOT_APPLICABLE": "dim"}
        for s, v in rows:
            t.add_row(f"{s.file}:{s.line or '?'}", s.name, v.container, f"[{colour[v.verdict]}]{v.verdict}[/]",
                      s.unresolved or v.reason)
        out.print(t)
        counts = {k: sum(v.verdict == k for _, v in rows) for k in colour}
        out.print(", ".join(f"{n} {k.lower()}" for k, n in counts.items() if n) or "no task definitions found")
    sys.exit(1 if any(v.verdict == FAILED for _, v in rows) else 0)


def _parse_images(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        name, sep, local = v.partition("=")
        if not sep or not name or not local:
            raise click.BadParameter(f"{v!r}: expected NAME=LOCAL", param_hint="--image")
        out[name] = local
    return out


def _write_atomically(path: str, text: str) -> None:
    import os
    import tempfile

    if path == "-":
        click.echo(text, nl=False)
        return
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".ecs5probe-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@main.command(cls=_Command)
@click.argument("taskdef", type=click.Path(exists=True, dir_okay=False))
@probe_options
@click.option("--image", "images", multiple=True, metavar="NAME=LOCAL",
              help="Probe local image LOCAL for the definition's image NAME. Repeatable.")
@click.option("--launch-type", type=click.Choice(["EC2", "FARGATE"]), default=None,
              help="Volume rules (default: from requiresCompatibilities).")
@click.option("--format", "fmt", type=click.Choice(["json", "terraform", "cloudformation"]), default="json",
              show_default=True, help="json: ready for register-task-definition --cli-input-json.")
@click.option("--output", "-o", default="-", show_default=True, help="Where to write (atomically); - is stdout.")
@click.option("--dry-run", is_flag=True, help="Show the before/after difference; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def fix(taskdef: str, images: tuple[str, ...], launch_type: str | None, fmt: str, output: str, dry_run: bool,
        quiet: bool, **kw: Any) -> None:
    """Probe every container of TASKDEF as it is defined, and write the fixed task definition.

    readonlyRootFilesystem true on every container, plus the writable mounts each one needs.
    Exit 1 when a container cannot be made to work read-only (nothing is written then).
    """
    from pathlib import Path

    from ecs5probe.core.fix import fix as fix_taskdef
    from ecs5probe.errors import TaskDefinitionError
    from ecs5probe.render import cloudformation, terraform
    from ecs5probe.taskdefs.sources import read

    found = list(read(Path(taskdef)))
    if len(found) != 1:
        raise TaskDefinitionError(f"{taskdef}: holds {len(found)} task definitions; fix takes one")
    src = found[0]
    if src.unresolved:
        raise TaskDefinitionError(f"{taskdef}: {src.unresolved}")
    mapping = _parse_images(images)
    with _session() as rt:
        result = fix_taskdef(rt, src.taskdef, mapping, _options(kw), launch_type, _Progress(err, quiet))
    for name, r in result.results.items():
        mark = "[green]verified[/]" if r.verified else "[red]NOT verified[/]"
        err.print(f"{name}: {mark}: {r.reason}; mounts: {', '.join(m.container_path for m in r.required_mounts) or 'none'}")
    for note in result.notes:
        err.print(f"[yellow]note:[/] {note}")
    if not result.verified:
        err.print("[red]not written:[/] a container cannot be made to work read-only")
        sys.exit(1)
    td = result.taskdef
    if fmt == "terraform":
        text = terraform.render(td, re.sub(r"[^A-Za-z0-9_]", "_", str(td.get("family", "this"))))
    elif fmt == "cloudformation":
        text = cloudformation.render(td)
    else:
        text = json.dumps(td, indent=2) + "\n"
    if dry_run:
        import difflib

        from rich.syntax import Syntax

        before = json.dumps({k: v for k, v in src.taskdef.items()}, indent=2).splitlines()
        after = json.dumps(td, indent=2).splitlines()
        diff = "\n".join(difflib.unified_diff(before, after, "before", "after", lineterm=""))
        Console(highlight=False).print(Syntax(diff or "(no change)", "diff", theme="ansi_dark"))
        return
    _write_atomically(output, text)
