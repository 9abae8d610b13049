"""The command line: a thin click + rich shell over the library."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from typing import Any

import click

from ecs5probe.app.many import NotProbed, probe_many, session
from ecs5probe.cli import cache, documents, reports
from ecs5probe.cli.config import config_option, for_image, loaded, wire_environment
from ecs5probe.cli.files import emit, parse_reports, read_images, write_atomically
from ecs5probe.cli.options import (
    DEFAULTS,
    format_option,
    launch_type_option,
    platform_option,
    probe_options,
    report_option,
    to_options,
    verbose_option,
)
from ecs5probe.cli.progress import LineProgress, LiveProgress
from ecs5probe.cli.shell import Command, Env, RuntimeFactory, docker_runtime, err, runtime_factory
from ecs5probe.core.options import ProbeOptions
from ecs5probe.model import PlatformName, ProbeResult
from ecs5probe.render.formats import FORMATS
from ecs5probe.render.interface import Report
from ecs5probe.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ecs5probe")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Find the writable mounts an image needs to run with ECS.5's read-only root filesystem."""
    ctx.ensure_object(Env)


__all__ = ["Command", "Env", "RuntimeFactory", "docker_runtime", "err", "main", "runtime_factory"]


def _probe_all(
    images: list[tuple[str, ProbeOptions]], quiet: bool, jobs: int = 1, pull: str | None = None
) -> list[ProbeResult]:
    """Probe images in a session (cleaned up on Ctrl-C), with progress on stderr."""
    live = LiveProgress(err, [i for i, _ in images]) if err.is_terminal and not quiet and len(images) > 1 else None
    observer: Any = live or LineProgress(err, quiet)
    with session(runtime_factory()) as rt, live.live if live is not None else contextlib.nullcontext():
        _checked(rt, images)
        return probe_many(rt, images, jobs, observer, live.done if live is not None else None, pull)


def _checked(rt: Any, images: list[tuple[str, ProbeOptions]]) -> None:
    """Bad input in any local image's options (a smoke test and no port) stops before any image is probed."""
    from ecs5probe.core.options import check_options
    from ecs5probe.errors import ImageNotFound, UsageError

    for image, opts in images:
        if not opts.smoke:
            continue
        try:
            exposed = rt.inspect(image).ports
        except ImageNotFound:  # pulled later: checked then, before its first run
            continue
        try:
            check_options(opts, image, exposed)
        except ValueError as e:
            raise UsageError(str(e)) from None


@main.command(cls=Command)
@click.argument("images", nargs=-1)
@click.option("--images-from", metavar="FILE", help="More images, one per line (# comments); - is stdin.")
@probe_options
@format_option(
    FORMATS,
    "table",
    "What stdout gets: table, json (full report), mounts (the --platform's fragment), markdown, junit, "
    "sarif, kubernetes (a strategic-merge patch), compose (a service override).",
)
@report_option()
@platform_option(
    "ecs",
    "Whose storage verifies the mounts (ECS tmpfs and task volumes, Kubernetes emptyDir, Compose "
    "tmpfs and volumes), and whose fragment the mounts format writes.",
)
@launch_type_option("EC2", "ECS volume rules for the mounts format.")
@click.option("--baseline", type=click.Path(dir_okay=False), help="Fail only on writable paths this baseline lacks.")
@click.option("--update-baseline", is_flag=True, help="Write the results into --baseline.")
@click.option(
    "--shard",
    metavar="K/N",
    help="Probe only shard K of N of the image list (by a hash of each name: every image in exactly one "
    "shard, the same on every machine); join the shards' JSON reports with `ecs5probe merge`.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress on stderr.")
@verbose_option
@config_option
@click.pass_context
def probe(
    ctx: click.Context,
    /,
    images: tuple[str, ...],
    images_from: str | None,
    shard: str | None,
    fmt: str,
    reports: tuple[str, ...],
    platform_name: PlatformName,
    launch_type: str,
    baseline: str | None,
    update_baseline: bool,
    quiet: bool,
    verbose: bool,
    **kw: Any,
) -> None:
    """Probe local IMAGES (or the configuration file's) and report the minimal verified set of writable
    mounts for each.

    Exit codes: 0 every image verified (and, with --baseline, needs nothing new); 1 an image cannot be
    made to work read-only, or needs a writable path the baseline lacks; 2 bad input or environment.
    """
    from ecs5probe.app.baseline import open_baseline

    targets = _targets(ctx, images, images_from, shard)
    if update_baseline and not baseline:
        raise click.UsageError("--update-baseline needs --baseline FILE")
    report_list = parse_reports(reports)
    base = open_baseline(baseline, update_baseline) if baseline else None
    if not targets:  # an empty shard: an empty report, nothing failed, no daemon needed
        emit(Report([], launch_type=launch_type, platform=platform_name), fmt, report_list)
        sys.exit(0)
    documents = [t for t in dict.fromkeys(targets) if _is_document(t)]
    names = [t for t in dict.fromkeys(targets) if t not in documents]
    try:
        todo = [(t, _options_for(ctx, t, kw, platform_name)) for t in names]
        results = _probe_all(todo, quiet, kw["jobs"], kw["pull"]) if todo else []
        if documents:  # a task definition, manifest or Compose file: its deployments, as fix probes them
            from ecs5probe.app.fix import probe_documents

            with session(runtime_factory()) as rt:
                opts = to_options(kw)
                results += probe_documents(rt, documents, opts, LineProgress(err, quiet), kw["pull"])
    except NotProbed as e:  # write what is complete to every report, then exit 2
        if e.results:
            emit(Report(e.results, launch_type=launch_type, platform=platform_name), fmt, report_list)
        raise
    regress = base.regressions(results) if base is not None else {}
    used = base is not None and base.gates
    report = Report(results, regress, baseline_used=used, launch_type=launch_type, platform=platform_name)
    emit(report, fmt, report_list)
    if base is not None and update_baseline:
        write_atomically(base.path, base.text(results))
    sys.exit(1 if any(report.failed(r) for r in results) else 0)


def _is_document(target: str) -> bool:
    """A file of a platform's documents (``probe`` then probes its deployments), not an image name."""
    from pathlib import Path

    from ecs5probe.platforms import reads

    return os.path.isfile(target) and reads(Path(target))


def _targets(ctx: click.Context, images: tuple[str, ...], images_from: str | None, shard: str | None) -> list[str]:
    """The images of this run: named, listed in a file, or the configuration file's; this shard's."""
    targets = list(images) + (read_images(images_from) if images_from else [])
    conf = loaded(ctx)
    if not targets and conf is not None:
        targets = [e.image for e in conf.images]
    if not targets:
        raise click.UsageError("no image given (IMAGE..., --images-from FILE, or images: in the configuration file)")
    if shard:
        from ecs5probe.app import shard as shards

        k, n = shards.parse(shard)
        targets = shards.select(dict.fromkeys(targets), k, n)
        err.print(f"shard {k}/{n}: {len(targets)} image(s)")
    return targets


def _options_for(ctx: click.Context, image: str, kw: dict[str, Any], platform_name: PlatformName) -> ProbeOptions:
    """The probe options of one image: its configuration entry where the command line and the
    environment say nothing."""
    values = for_image(ctx, image, {**kw, "platform_name": platform_name})
    return replace(to_options(values), platform=PlatformName(values["platform_name"]))


@main.command(cls=Command)
@click.option("--only", multiple=True, metavar="NAME", help="Probe only samples whose name contains NAME.")
@click.option("--no-debian", is_flag=True, help="Skip the samples that need a debootstrap Debian base.")
@click.option("--rebuild", is_flag=True, help="Rebuild the sample images even when present.")
@format_option(FORMATS, "table")
@click.option(
    "--jobs", "-j", type=click.IntRange(1, 64), default=DEFAULTS.jobs, show_default=True, help="Samples probed at once."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr.")
def demo(only: tuple[str, ...], no_debian: bool, rebuild: bool, fmt: str, jobs: int, quiet: bool) -> None:
    """Build the bundled sample images when missing and probe each one."""
    from ecs5probe.app import samples as sm

    chosen = [s for s in sm.load_samples() if (not only or any(o in s.name for o in only))]
    if no_debian:
        chosen = [s for s in chosen if s.base != "debian"]
    if not chosen:
        raise click.UsageError("no sample matches")
    with session(runtime_factory()) as rt:
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


@main.command(cls=Command)
@click.option("--all", "everything", is_flag=True, help="Also remove what live sessions are using.")
def cleanup(everything: bool) -> None:
    """Remove containers and volumes left by interrupted ecs5probe runs (by label)."""
    rt = runtime_factory()()
    try:
        containers, volumes = rt.reap(dead_only=not everything)
        # the first contact with the daemon already removed what dead sessions left: count it too
        first = getattr(rt, "first_reaped", (0, 0))
        containers, volumes = containers + first[0], volumes + first[1]
    finally:
        rt.close()
    click.echo(f"removed {containers} container(s) and {volumes} volume(s)")


# The commands on documents and reports live in their own modules, which never import this one.
for _command in (documents.scan, documents.fix, reports.merge, cache.cache):
    main.add_command(_command)

wire_environment(main.commands.values())  # every option: ECS5PROBE_<OPTION>
