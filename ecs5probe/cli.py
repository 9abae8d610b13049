"""The command line: a thin click + rich shell over the library."""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ecs5probe import __version__
from ecs5probe.core.probe import TRACERS, ProbeOptions
from ecs5probe.errors import Cancelled, DaemonUnavailable, Ecs5ProbeError
from ecs5probe.model import ProbeResult, RunRecord
from ecs5probe.render.formats import FORMATS, ReportFormat
from ecs5probe.render.interface import Report
from ecs5probe.core.ports import Runtime

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


_DEFAULTS = ProbeOptions()


class _Finite(click.FloatRange):
    """A float range that refuses nan and infinities (click's FloatRange lets nan through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        out = super().convert(value, param, ctx)
        if out is not None and not math.isfinite(out):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return out


def probe_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every probing command shares."""
    opts = [
        click.option("--health-cmd", help="Shell command that exits 0 when the app is healthy (overrides the image's)."),
        click.option("--job", is_flag=True, help="A one-shot job: success is exit code 0."),
        click.option("--settle", type=_Finite(0.1, 600), default=_DEFAULTS.settle, show_default=True,
                     help="Without a health check: seconds the service must stay up."),
        click.option("--exercise", "exercises", multiple=True, metavar="CMD",
                     help="Shell command run in the container once it is healthy; must exit 0. Repeatable."),
        click.option("--timeout", type=_Finite(1, 3600), default=_DEFAULTS.timeout, show_default=True,
                     help="Seconds to wait for healthy (or for a job to finish)."),
        click.option("--start-period", type=_Finite(0, 600), default=_DEFAULTS.start_period, show_default=True,
                     help="Seconds during which failing health checks do not count."),
        click.option("--stop-grace", type=_Finite(0.5, 120), default=_DEFAULTS.stop_grace, show_default=True,
                     help="Seconds between the stop signal and SIGKILL."),
        click.option("--network", default="none", show_default=True,
                     help="Docker network for the image under test (loopback always works)."),
        click.option("--jobs", "-j", type=click.IntRange(1, 64), default=_DEFAULTS.jobs, show_default=True,
                     help="Containers run in parallel: images probed at once, or a single image's ablation runs."),
        click.option("--no-minimise", is_flag=True, help="Skip the ablation runs."),
        click.option("--tracer", type=click.Choice(TRACERS), default="auto", show_default=True,
                     help="Evidence: auto (strace where it works, logs and docker diff always), one source alone, "
                          "or no-strace (logs and docker diff)."),
        click.option("--allow-degraded", "allow_degraded", multiple=True, metavar="PATH",
                     help="Accept that writes under PATH fail read-only while the app stays up (not required). "
                          "Repeatable."),
        click.option("--memory", type=click.IntRange(16, 1 << 20), default=_DEFAULTS.memory_mib, show_default=True,
                     metavar="MIB", help="Memory limit of every probe container (a task definition's memory wins)."),
        click.option("--pids-limit", type=click.IntRange(16, 1 << 22), default=_DEFAULTS.pids_limit,
                     show_default=True, help="Process limit of every probe container."),
        click.option("--cpus", type=_Finite(0.01, 1024), default=None,
                     help="CPU quota of every probe container  [default: the machine's cores]"),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def _absolute(path: str, hint: str) -> str:
    if not path.startswith("/"):
        raise click.BadParameter(f"{path!r}: a path in the container, absolute (/var/lib/app)", param_hint=hint)
    return path


def _options(kw: dict[str, Any]) -> ProbeOptions:
    return ProbeOptions(
        health_cmd=kw["health_cmd"], job=kw["job"], settle=kw["settle"], exercises=tuple(kw["exercises"]),
        timeout=kw["timeout"], start_period=kw["start_period"], stop_grace=kw["stop_grace"],
        network=kw["network"], jobs=kw["jobs"], minimise=not kw["no_minimise"], tracer=kw["tracer"],
        allow_degraded=tuple(_absolute(p, "--allow-degraded") for p in kw["allow_degraded"]), memory_mib=kw["memory"], pids_limit=kw["pids_limit"],
        cpus=kw["cpus"],
    )


class _LiveProgress:
    """One line per image (phase, runs so far, elapsed), redrawn in place on a terminal."""

    def __init__(self, console: Console, images: Sequence[str]):
        from rich.live import Live

        self.rows = {i: {"phase": "waiting", "runs": 0, "start": None} for i in images}
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def _table(self) -> Table:
        t = Table(show_header=True, header_style="bold", box=None)
        for col in ("image", "phase", "runs", "elapsed"):
            t.add_column(col)
        for image, row in self.rows.items():
            elapsed = f"{time.monotonic() - row['start']:.0f}s" if row["start"] else "-"
            t.add_row(image, str(row["phase"]), str(row["runs"]), elapsed)
        return t

    def phase(self, image: str, text: str) -> None:
        row = self.rows.setdefault(image, {"phase": "", "runs": 0, "start": None})
        row["start"] = row["start"] or time.monotonic()
        row["phase"] = text
        self.live.update(self._table())

    def run_done(self, image: str, record: RunRecord) -> None:
        self.rows[image]["runs"] = int(self.rows[image]["runs"]) + 1
        self.live.update(self._table())

    def done(self, image: str, result: ProbeResult) -> None:
        self.rows[image]["phase"] = "verified" if result.verified else "NOT verified"
        self.live.update(self._table())


def _probe_all(images: list[tuple[str, ProbeOptions]], quiet: bool, jobs: int = 1) -> list[ProbeResult]:
    """Probe images, ``jobs`` at a time; results in the order given.

    When the daemon is lost, the images not probed are named in a :class:`NotProbed` error that still
    carries the results complete by then, so that every report can be written.
    """
    from ecs5probe import _probe_with

    parallel = max(1, min(jobs, len(images)))
    ablation = max(1, jobs // parallel)  # one image: its ablation runs get the cores
    live = _LiveProgress(err, [i for i, _ in images]) if err.is_terminal and not quiet and len(images) > 1 else None
    observer: Any = live or _Progress(err, quiet)

    lost: dict[str, DaemonUnavailable] = {}

    def one(item: tuple[str, ProbeOptions]) -> ProbeResult | None:
        image, opts = item
        if lost:  # the daemon is gone: do not start more
            lost.setdefault(image, next(iter(lost.values())))
            return None
        try:
            result = _probe_with(rt, image, replace(opts, jobs=ablation), observer)
        except DaemonUnavailable as e:
            lost[image] = e
            return None
        if live is not None:
            live.done(image, result)
        return result

    with _session() as rt, (live.live if live is not None else contextlib.nullcontext()):
        if parallel == 1:
            results = [one(i) for i in images]
        else:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                results = list(pool.map(one, images))
    done = [r for r in results if r is not None]
    if lost:
        first = next(iter(lost.values()))
        raise NotProbed(f"{first}; not probed: {', '.join(lost)}", done)
    return done


class NotProbed(DaemonUnavailable):
    """Some images were not probed (the daemon was lost); ``results`` are those complete before."""

    def __init__(self, message: str, results: list[ProbeResult]):
        super().__init__(message)
        self.results = results





def _parse_reports(values: tuple[str, ...]) -> list[tuple[ReportFormat, str]]:
    out = []
    for v in values:
        fmt, sep, path = v.partition("=")
        if not sep or fmt not in FORMATS or not path:
            raise click.BadParameter(f"{v!r}: expected FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}",
                                     param_hint="--report")
        _check_writable(path, "--report")
        out.append((ReportFormat(fmt), path))
    return out


def _check_writable(path: str, hint: str) -> None:
    """Fail before any work when ``path`` cannot be written: a missing directory, a directory itself."""
    if path == "-":
        return
    if os.path.isdir(path):
        raise click.BadParameter(f"{path}: is a directory", param_hint=hint)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise click.BadParameter(f"{path}: no such directory {parent}", param_hint=hint)
    if not os.access(parent, os.W_OK):
        raise click.BadParameter(f"{path}: directory {parent} is not writable", param_hint=hint)


def _emit(report: Report, fmt: str, reports: list[tuple[ReportFormat, str]]) -> None:
    """Write the main format to stdout and every --report, atomically; markdown also to the step summary."""
    texts = {f: f.to_renderer()(report) for f in {ReportFormat(fmt), *(f for f, _ in reports)}}
    for f, path in reports:
        _write_atomically(path, texts[f])
    if ReportFormat(fmt) not in {f for f, p in reports if p == "-"}:
        click.echo(texts[ReportFormat(fmt)], nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and ReportFormat.MARKDOWN in texts:
        with open(summary, "a", encoding="utf-8") as f:
            f.write(texts[ReportFormat.MARKDOWN])


def _read_images(path: str) -> list[str]:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except OSError as e:
        raise click.BadParameter(f"{path}: {e.strerror}", param_hint="--images-from") from None
    except UnicodeDecodeError:
        raise click.BadParameter(f"{path}: not a text file of image names", param_hint="--images-from") from None
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


@main.command(cls=_Command)
@click.argument("images", nargs=-1)
@click.option("--images-from", metavar="FILE", help="More images, one per line (# comments); - is stdin.")
@probe_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="What stdout gets: table, json (full report), mounts (ECS fragment), markdown, junit, sarif.")
@click.option("--report", "reports", multiple=True, metavar="FORMAT=PATH",
              help="Also write FORMAT to PATH (atomically; - is stdout). Repeatable.")
@click.option("--launch-type", type=click.Choice(["EC2", "FARGATE"]), default="EC2", show_default=True,
              help="Volume rules for the mounts format.")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Fail only on writable paths this baseline lacks.")
@click.option("--update-baseline", is_flag=True, help="Write the results into --baseline.")
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
def probe(images: tuple[str, ...], images_from: str | None, fmt: str, reports: tuple[str, ...],
          launch_type: str, baseline: str | None, update_baseline: bool, quiet: bool, **kw: Any) -> None:
    """Probe local IMAGES and report the minimal verified set of writable mounts for each.

    Exit codes: 0 every image verified (and, with --baseline, needs nothing new); 1 an image cannot be
    made to work read-only, or needs a writable path the baseline lacks; 2 bad input or environment.
    """
    from ecs5probe.core import baseline as bl

    targets = list(images) + (_read_images(images_from) if images_from else [])
    if not targets:
        raise click.UsageError("no image given (IMAGE... or --images-from FILE)")
    if update_baseline and not baseline:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    report_list = _parse_reports(reports)
    known: dict[str, set[str]] | None = None
    if baseline and os.path.exists(baseline):
        try:
            known = bl.load(json.loads(open(baseline, encoding="utf-8").read()))
        except json.JSONDecodeError as e:
            raise click.BadParameter(f"{baseline}: malformed JSON: {e.msg}", param_hint="--baseline") from None
        except UnicodeDecodeError:
            raise click.BadParameter(f"{baseline}: not a JSON text file", param_hint="--baseline") from None
    elif baseline and not update_baseline:
        raise click.BadParameter(f"{baseline}: no such file (create it with --update-baseline)", param_hint="--baseline")
    opts = _options(kw)
    try:
        results = _probe_all([(t, opts) for t in dict.fromkeys(targets)], quiet, kw["jobs"])
    except NotProbed as e:  # write what is complete to every report, then exit 2
        if e.results:
            _emit(Report(e.results, launch_type=launch_type), fmt, report_list)
        raise
    regress = bl.regressions(results, known) if known is not None and not update_baseline else {}
    report = Report(results, regress, baseline_used=known is not None and not update_baseline, launch_type=launch_type)
    _emit(report, fmt, report_list)
    if update_baseline and baseline:
        _write_atomically(baseline, json.dumps(bl.build(results, known), indent=2) + "\n")
    sys.exit(1 if any(report.failed(r) for r in results) else 0)


@main.command(cls=_Command)
@click.option("--only", multiple=True, metavar="NAME", help="Probe only samples whose name contains NAME.")
@click.option("--no-debian", is_flag=True, help="Skip the samples that need a debootstrap Debian base.")
@click.option("--rebuild", is_flag=True, help="Rebuild the sample images even when present.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=_DEFAULTS.jobs, show_default=True,
              help="Samples probed at once.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def demo(only: tuple[str, ...], no_debian: bool, rebuild: bool, fmt: str, jobs: int, quiet: bool) -> None:
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
    results = _probe_all(todo, quiet, jobs)
    _emit(Report(results), fmt, [])
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
        click.echo(json.dumps([{"file": s.file, "line": s.line, "name": s.name, "kind": s.kind, "container": v.container,
                                "verdict": v.verdict, "reason": s.unresolved or v.reason} for s, v in rows], indent=2))
    else:
        out = Console(highlight=False, soft_wrap=True)
        if not out.is_terminal:
            out = Console(highlight=False, soft_wrap=True, width=160)  # CI logs and files: do not truncate
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


def _one_document(path: str, platform: Any) -> Any:
    from ecs5probe.errors import TaskDefinitionError
    from ecs5probe.platforms import read

    found = list(read(Path(path), platform=platform))
    if len(found) != 1:
        raise TaskDefinitionError(f"{path}: holds {len(found)} task definitions; fix takes one per file")
    if found[0].unresolved:
        raise TaskDefinitionError(f"{path}: {found[0].unresolved}")
    return found[0]


def _fix_one(rt: Runtime, platform: Any, taskdef: str, body: dict[str, Any], mapping: dict[str, str],
             opts: ProbeOptions, launch_type: str | None, fmt: str, dry_run: bool, quiet: bool) -> str | None:
    """Probe and patch one document; its text in ``fmt`` (None: a container cannot be fixed)."""
    from ecs5probe.fix import fix as fix_document

    result = fix_document(rt, platform, body, mapping, opts, launch_type, _Progress(err, quiet))
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
@click.argument("taskdefs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@probe_options
@click.option("--image", "images", multiple=True, metavar="NAME=LOCAL",
              help="Probe local image LOCAL for the definition's image NAME. Repeatable.")
@click.option("--launch-type", type=click.Choice(["EC2", "FARGATE"]), default=None,
              help="Volume rules (default: from requiresCompatibilities).")
@click.option("--format", "fmt", type=click.Choice(["json", "terraform", "cloudformation"]), default="json",
              show_default=True, help="json: ready for register-task-definition --cli-input-json.")
@click.option("--output", "-o", default="-", show_default=True,
              help="Where to write (atomically); - is stdout; a directory for several task definitions.")
@click.option("--dry-run", is_flag=True, help="Show the before/after difference; write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def fix(taskdefs: tuple[str, ...], images: tuple[str, ...], launch_type: str | None, fmt: str, output: str,
        dry_run: bool, quiet: bool, **kw: Any) -> None:
    """Probe every container of each TASKDEF as it is defined, and write the fixed task definition.

    readonlyRootFilesystem true on every container, plus the writable mounts each one needs.
    Exit 1 when a container cannot be made to work read-only (that definition is not written).
    """
    from ecs5probe.platforms import get

    platform = get("ecs")
    many = len(taskdefs) > 1
    if many and not dry_run and not os.path.isdir(output):
        raise click.BadParameter("with several task definitions, --output must be an existing directory",
                                 param_hint="--output")
    if not many and not dry_run:
        _check_writable(output, "--output")
    docs = [(t, _one_document(t, platform)) for t in taskdefs]  # read and check all before probing any
    mapping = _parse_images(images)
    suffix = {"json": ".json", "terraform": ".tf", "cloudformation": ".cfn.json"}[fmt]
    failed = False
    with _session() as rt:
        for taskdef, doc in docs:
            text = _fix_one(rt, platform, taskdef, doc.body, mapping, _options(kw), launch_type, fmt, dry_run, quiet)
            if text is None:
                failed = True
            elif not dry_run:
                target = os.path.join(output, Path(taskdef).name.split(".")[0] + ".fixed" + suffix) if many else output
                _write_atomically(target, text)
    sys.exit(1 if failed else 0)
