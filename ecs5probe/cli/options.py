"""Options every probing command shares, declared once; their defaults are the library's."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ecs5probe.cli.cache import CACHE_OPTIONS, cache_dir
from ecs5probe.core.options import TRACERS, ProbeOptions
from ecs5probe.platforms import PlatformName

if TYPE_CHECKING:
    from ecs5probe.core.harden import Harden

DEFAULTS = ProbeOptions()


class _Finite(click.FloatRange):
    """A float range that refuses nan and infinities (click's FloatRange lets nan through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        out = super().convert(value, param, ctx)
        if out is not None and not math.isfinite(out):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return out


#: The options every probing command shares, declared once.
_PROBE_OPTIONS = [
    click.option("--health-cmd", help="Shell command that exits 0 when the app is healthy (overrides the image's)."),
    click.option("--job", is_flag=True, help="A one-shot job: success is exit code 0."),
    click.option(
        "--settle",
        type=_Finite(0.1, 600),
        default=DEFAULTS.settle,
        show_default=True,
        help="Without a health check: seconds the service must run with its output quiet to count as ready.",
    ),
    click.option(
        "--exercise",
        "exercises",
        multiple=True,
        metavar="CMD",
        help="Shell command run in the container once it is healthy; must exit 0. Repeatable.",
    ),
    click.option(
        "--smoke",
        "smoke",
        multiple=True,
        metavar="CMD",
        help="Shell command run on this machine, in this directory, once the container is ready and exercised, "
        "in every run whose verdict counts; must exit 0. It reaches the container's ports (EXPOSE, --publish) on "
        "$ECS5PROBE_HOST (a loopback address of the run's own); also $ECS5PROBE_CONTAINER, $ECS5PROBE_IMAGE. "
        "Repeatable.",
    ),
    click.option(
        "--publish",
        "publish",
        multiple=True,
        type=click.IntRange(1, 65535),
        metavar="PORT",
        help="A TCP port the app listens on that the image does not EXPOSE, for --smoke. Repeatable.",
    ),
    click.option(
        "--soak",
        type=_Finite(0, 3600),
        default=DEFAULTS.soak,
        show_default=True,
        metavar="SECONDS",
        help="Keep every run whose verdict counts going this long after its exercises and smoke tests "
        "(writes on a timer).",
    ),
    click.option(
        "--signal",
        "signals",
        multiple=True,
        metavar="SIG",
        callback=lambda ctx, param, value: _signals(value),
        help="Send SIG to the app after its exercises (HUP: reopen logs), as docker kill -s would. Repeatable.",
    ),
    click.option(
        "--timeout",
        type=_Finite(1, 3600),
        default=DEFAULTS.timeout,
        show_default=True,
        help="Seconds to wait for healthy (or for a job to finish).",
    ),
    click.option(
        "--start-period",
        type=_Finite(0, 600),
        default=DEFAULTS.start_period,
        show_default=True,
        help="Seconds during which failing health checks do not count.",
    ),
    click.option(
        "--stop-grace",
        type=_Finite(0.5, 120),
        default=DEFAULTS.stop_grace,
        show_default=True,
        help="Seconds between the stop signal and SIGKILL.",
    ),
    click.option(
        "--network",
        default="none",
        show_default=True,
        help="Docker network for the image under test (loopback always works).",
    ),
    click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1, 64),
        default=DEFAULTS.jobs,
        show_default=True,
        help="Containers run in parallel: images probed at once, or a single image's ablation runs.",
    ),
    click.option("--no-minimise", is_flag=True, help="Skip the ablation runs."),
    click.option(
        "--ablate-all",
        is_flag=True,
        help="Also run without each mount the app wrote with a writable root (kept either way) to tell "
        "whether the app fails or degrades without it (degraded in the report).",
    ),
    click.option(
        "--tracer",
        type=click.Choice(TRACERS),
        default="auto",
        show_default=True,
        help="Evidence: auto (strace where it works, logs and docker diff always), one source alone, "
        "or no-strace (logs and docker diff).",
    ),
    click.option(
        "--allow-degraded",
        "allow_degraded",
        multiple=True,
        metavar="PATH",
        help="Accept that writes under PATH fail read-only while the app stays up (not required). Repeatable.",
    ),
    click.option(
        "--memory",
        type=click.IntRange(16, 1 << 20),
        default=DEFAULTS.memory_mib,
        show_default=True,
        metavar="MIB",
        help="Memory limit of every probe container (a task definition's memory wins).",
    ),
    click.option(
        "--pids-limit",
        type=click.IntRange(16, 1 << 22),
        default=DEFAULTS.pids_limit,
        show_default=True,
        help="Process limit of every probe container.",
    ),
    click.option(
        "--pull",
        type=click.Choice(["missing", "always", "never"]),
        default="missing",
        show_default=True,
        help="Pull images from their registry as `docker run` does, with the Docker client's credentials "
        "(and an ECR token from boto3 where none is stored).",
    ),
    click.option(
        "--harden",
        default="read-only-root",
        show_default=True,
        callback=lambda ctx, param, value: _hardening(value),
        metavar="LIST",
        help="What to learn and verify, comma-separated: read-only-root (the mounts; always), non-root (the "
        "user it can run as: ECS.20, runAsNonRoot), capabilities (the fewest it needs from drop ALL).",
    ),
    click.option(
        "--as-user",
        metavar="UID:GID",
        help="With --harden non-root: the user to try when the image runs as root and switches to no other.",
    ),
    click.option(
        "--no-sysctls",
        is_flag=True,
        help="With --harden non-root: never answer with a kernel parameter (net.ipv4.ip_unprivileged_port_start "
        "for a non-root app on a port below 1024); such an app is then reported as needing root.",
    ),
    click.option(
        "--cpus",
        type=_Finite(0.01, 1024),
        default=None,
        help="CPU quota of every probe container  [default: the machine's cores]",
    ),
    *CACHE_OPTIONS,
]


def verbose_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """``--verbose``/``-v``: every run and decision as log lines on stderr (stdout unchanged)."""

    def on(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        if value:
            import logging
            import sys

            handler = logging.StreamHandler(sys.stderr)  # one line per record, never wrapped: grep-able
            handler.setFormatter(logging.Formatter("%(asctime)s ecs5probe: %(message)s", "%H:%M:%S"))
            logger = logging.getLogger("ecs5probe")
            logger.setLevel(logging.DEBUG)
            logger.handlers = [handler]
            logger.propagate = False
        return value

    return click.option(
        "--verbose", "-v", is_flag=True, callback=on, help="Every run and every decision as log lines on stderr."
    )(f)


def _signals(value: tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    from ecs5probe.core.options import signal_name

    try:
        return tuple(signal_name(v) for v in value or ())
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--signal") from None


def _hardening(value: str | tuple[str, ...]) -> frozenset[Harden]:
    from ecs5probe.core.harden import Harden

    items = value.split(",") if isinstance(value, str) else list(value)
    names = [i.strip() for i in items if i.strip()]
    known = [h.value for h in Harden]
    for n in names:
        if n not in known:
            raise click.BadParameter(f"{n!r} is not one of {', '.join(known)}", param_hint="--harden")
    return frozenset({Harden.READ_ONLY_ROOT, *(Harden(n) for n in names)})


def probe_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """The options every probing command shares."""
    for o in reversed(_PROBE_OPTIONS):
        f = o(f)
    return f


def absolute(path: str, hint: str) -> str:
    if not path.startswith("/"):
        raise click.BadParameter(f"{path!r}: a path in the container, absolute (/var/lib/app)", param_hint=hint)
    return path


def to_options(kw: dict[str, Any]) -> ProbeOptions:
    return ProbeOptions(
        health_cmd=kw["health_cmd"],
        job=kw["job"],
        settle=kw["settle"],
        exercises=tuple(kw["exercises"]),
        timeout=kw["timeout"],
        start_period=kw["start_period"],
        stop_grace=kw["stop_grace"],
        network=kw["network"],
        jobs=kw["jobs"],
        minimise=not kw["no_minimise"],
        ablate_all=kw["ablate_all"],
        tracer=kw["tracer"],
        allow_degraded=tuple(absolute(p, "--allow-degraded") for p in kw["allow_degraded"]),
        memory_mib=kw["memory"],
        pids_limit=kw["pids_limit"],
        cpus=kw["cpus"],
        harden=kw["harden"] if isinstance(kw["harden"], frozenset) else _hardening(kw["harden"]),
        as_user=kw["as_user"],
        smoke=tuple(kw.get("smoke") or ()),
        publish=tuple(kw.get("publish") or ()),
        soak=kw.get("soak") or 0.0,
        signals=tuple(kw.get("signals") or ()),
        sysctls=not kw["no_sysctls"],
        cache_dir=cache_dir(kw),
    )


def report_option(dest: str = "reports") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--report FORMAT=PATH``, repeatable (probe and merge)."""
    return click.option(
        "--report",
        dest,
        multiple=True,
        metavar="FORMAT=PATH",
        help="Also write FORMAT to PATH (atomically; - is stdout). Repeatable.",
    )


def format_option(
    choices: Sequence[str], default: str | None, help: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format``, as ``fmt``: what stdout gets (every command that writes has one)."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=default is not None,
        help=help,
    )


def platform_option(default: str | None, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--platform ecs|kubernetes|compose``, as ``platform_name``."""
    return click.option(
        "--platform",
        "platform_name",
        type=click.Choice([p.value for p in PlatformName]),
        default=default,
        show_default=default is not None,
        callback=lambda ctx, param, value: None if value is None else PlatformName(value),
        help=help,
    )


def launch_type_option(default: str | None, help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--launch-type EC2|FARGATE``: ECS's volume rules."""
    return click.option(
        "--launch-type",
        type=click.Choice(["EC2", "FARGATE"]),
        default=default,
        show_default=default is not None,
        help=help,
    )


def compose_files_option(text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--compose-file``/``-f``: Compose files merged in order, as ``docker compose -f`` merges them."""
    return click.option("--compose-file", "-f", "compose_files", multiple=True, metavar="FILE", help=text)
