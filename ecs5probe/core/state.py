"""One probe's working state: a dataclass handed to the collaborators (observe, runs, learn, minimise,
size, verify), never shared through ``self`` of a class hierarchy."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from ecs5probe.core.options import Observer, ProbeOptions, Tracer
from ecs5probe.core.paths import normalise
from ecs5probe.core.ports import ImageFacts, Runtime, StorageSemantics
from ecs5probe.core.recommend import ImageContext
from ecs5probe.core.sizing import Sizer
from ecs5probe.core.tracefacts import CapabilityNeed
from ecs5probe.model import Finding, HealthSpec, ImageConfig, PathInfo, RunRecord, Write

log = logging.getLogger(__name__)  # --verbose shows it; nothing is printed otherwise


@dataclass
class Baseline:
    """How the writable run behaved: what every read-only run is judged against."""

    stop: int | None = None  # its stop's exit code
    traced: bool = False
    traced_stop: int | None = None  # how the traced writable run stopped: the tracer's own way
    trace_complete: bool = False  # the writable run was traced and its trace named every write
    verified_stop: int | None = None  # how an untraced run with the full set stopped
    ready_timeout: float | None = None
    stop_budget: float | None = None  # a read-only run not stopped by then has diverged
    stop_diverged: float | None = None  # ... and by then, when it logged a read-only error at its stop
    ready_after: float | None = None  # how long the writable run took to be ready
    dropped: tuple[int | None, int | None] = (None, None)  # the uid/gid the app switched to
    ports: tuple[int, ...] = ()  # the TCP/UDP ports the app bound (privilege evidence)
    named: tuple[CapabilityNeed, ...] = ()  # capabilities refused calls named in the writable run
    port_start: int | None = None  # net.ipv4.ip_unprivileged_port_start the writable run needed


@dataclass
class ProbeState:
    """Everything one probe of one image knows while it runs; the result is made from it at the end."""

    rt: Runtime
    image: str
    opt: ProbeOptions
    obs: Observer
    semantics: StorageSemantics
    cfg: ImageConfig
    facts_job: Future[tuple[ImageFacts, int, int]]
    sizer: Sizer
    health: HealthSpec | None = None
    volumes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    base: Baseline = field(default_factory=Baseline)
    # what the probe did and found, for the report
    runs: list[RunRecord] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    tried: list[str] = field(default_factory=list)
    opt_reason: dict[str, str] = field(default_factory=dict)  # why an optional mount is not required
    degraded: set[str] = field(default_factory=set)
    ablated: set[str] = field(default_factory=set)  # mounts a run without them classified (degraded is known)
    # evidence bookkeeping
    benign_seen: set[str] = field(default_factory=set)
    lies: set[str] = field(default_factory=set)  # paths a log claimed read-only with a writable root
    failed_writable: set[str] = field(default_factory=set)
    noted_anyway: set[str] = field(default_factory=set)
    pathless: list[Write] = field(default_factory=list)
    written: set[str] = field(default_factory=set)  # every path a run wrote or tried to (what was exercised)
    changed: bool = False  # the last learning step changed a candidate in place (an owner)
    pass_index: int = 0  # the run record of the passing trace
    kept: str | None = None  # the writable run's container, kept for diff and sizes
    diff_pending: bool = False  # docker diff of the kept run is read beside the first wave
    late_diff: Future[list[tuple[str, str]]] | None = None
    dirs_job: Future[list[PathInfo]] | None = None  # the image's directories, listed beside the runs
    _ctx: ImageContext | None = None

    @property
    def use_logs(self) -> bool:
        return self.opt.tracer in (Tracer.AUTO, Tracer.LOGS, Tracer.NO_STRACE)

    @property
    def use_diff(self) -> bool:
        return self.opt.tracer in (Tracer.AUTO, Tracer.DIFF, Tracer.NO_STRACE)

    use_strace: bool = False

    @property
    def ctx(self) -> ImageContext:
        """The image's facts, read once (an unknown user is a usage error, raised here)."""
        if self._ctx is None:
            facts, uid, gid = self.facts_job.result()
            self._ctx = ImageContext(self.cfg, facts, uid, gid)
            self.volumes = sorted({self._ctx.resolve(normalise(v)) for v in self.cfg.volumes})
        return self._ctx

    def record(self, rec: RunRecord) -> None:
        self.runs.append(rec)
        log.info(
            "%s: run %r (%s; mounts: %s): %s%s [%.1fs]",
            self.image,
            rec.purpose,
            "read-only" if rec.read_only else "writable",
            ", ".join(rec.mounts) or "none",
            "passed" if rec.passed else "failed",
            f": {rec.reason}" if rec.reason else "",
            rec.duration_seconds,
        )
        self.obs.run_done(self.image, rec)

    def cwd(self, default: str | None = "/") -> str | None:
        return self.opt.workdir or self.cfg.workdir or default

    def traces(self) -> int:
        return sum(r.purpose.startswith("trace") for r in self.runs)
