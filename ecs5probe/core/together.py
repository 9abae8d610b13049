"""A whole deployment probed as its platform runs it: each container's mounts learnt, minimised and
verified while the containers it does not start before run beside it (in dependency order, the
independent ones side by side), then every container brought up together read-only with exactly the
recommended mounts, exercised and stopped, judged against the same deployment run writable."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from ecs5probe.core.deployment import Condition, Deployment, Member, Network, VolumeKind, shared_paths
from ecs5probe.core.harden import owned_by, with_privilege
from ecs5probe.core.judge import judge, last_words
from ecs5probe.core.options import Observer, ProbeOptions, Silent
from ecs5probe.core.ports import MountSpec, Running, RunOutcome, RunSpec, Runtime, Sandbox, StorageSemantics
from ecs5probe.core.probe import health_for, probe_image
from ecs5probe.core.publish import host_variable
from ecs5probe.errors import SmokeTestFailed, UsageError
from ecs5probe.model import ContainerKind, Mount, ProbeResult, RunRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemberResult:
    """One container's probe, named as the document names it."""

    name: str
    kind: ContainerKind
    result: ProbeResult


@dataclass(frozen=True)
class DeploymentResult:
    """Every container's probe and the run of the whole deployment with exactly those mounts."""

    deployment: str
    members: list[MemberResult]
    together: bool  # the whole deployment ran read-only with these mounts as it runs writable
    reason: str
    runs: list[RunRecord] = field(default_factory=list)  # the deployment's own runs (writable, together)
    alone: bool = False  # one container probed by its own runs: nothing ran together

    @property
    def verified(self) -> bool:
        return self.together and all(m.result.verified for m in self.members)


@dataclass(frozen=True)
class _Place:
    """What a sandbox gives the members: their network, and the deployment's volumes made in it."""

    network: str
    volumes: dict[str, str]


class Together:
    """One deployment's probe (its runtime, options and platform semantics held for the steps)."""

    def __init__(
        self,
        runtime: Runtime,
        d: Deployment,
        base: ProbeOptions,
        semantics: StorageSemantics,
        observer: Observer | None = None,
        attach: str | None = None,
    ):
        self.rt, self.d, self.base, self.semantics = runtime, d, base, semantics
        self.obs = observer or Silent()
        self.attach = attach
        self.runs: list[RunRecord] = []
        self.one_shot: set[str] = set()  # non-essential containers that ran to their end, writable
        self.smoke_failed = ""  # the smoke tests' failure in the together run

    # -- places and specs ---------------------------------------------------------------------------
    def _sandbox(self) -> Sandbox:
        publish = sorted({p for ports in self.ports().values() for p in ports})
        return self.rt.sandbox(self.d.network, self.attach, publish=publish)

    def ports(self) -> dict[str, tuple[int, ...]]:
        """Each member's ports the smoke tests reach (its image's EXPOSE, the document's, --publish);
        none without a smoke test."""
        if not self.base.smoke:
            return {}
        out = {}
        for m in self.d.members:
            opts = self.base.with_container(m.settings)
            out[m.name] = tuple(int(p.split("/")[0]) for p in opts.ports(self.rt.inspect(m.image).ports))
        return out

    def _smoke_env(self, box: Sandbox, running: Sequence[str]) -> tuple[tuple[str, str], ...] | None:
        """What a smoke test is told while ``running`` run: None when one of the containers it may reach
        (those with ports) does not run (it starts after the one probed), or when none has a port."""
        ports = self.ports()
        reached = [n for n in self.d.order() if ports.get(n)]
        if not reached or any(n not in running for n in reached):
            return None
        env = dict(box.smoke_env())
        if "ECS5PROBE_HOST" not in env:  # members on networks of their own: the first one's, in order
            env["ECS5PROBE_HOST"] = env.get(host_variable(reached[0]), "")
        return tuple((k, v) for k, v in env.items() if v)

    def _place(self, box: Sandbox) -> _Place:
        return _Place(box.network, {v.name: box.volume(v.kind) for v in self.d.volumes})

    def options(self, m: Member, place: _Place) -> ProbeOptions:
        """How ``m`` runs in ``place``: the document's settings, its network, its shared volumes."""
        fixed = [
            MountSpec(
                u.path,
                "volume",
                read_only=u.read_only,
                copy_content=self._copies(u.volume),
                source=place.volumes[u.volume],
            )
            for u in shared_paths(self.d, m).values()
            if u.volume in place.volumes
        ]
        fixed += [MountSpec(p, "tmpfs") for p in m.tmpfs]
        jobs = 1 if self.d.network is Network.SHARED else self.base.jobs  # one namespace: one port each
        opts = self.base.with_container(m.settings)
        return replace(
            opts,
            member=m.name if self.base.smoke else "",
            network=place.network,
            aliases=m.aliases if self.d.network is Network.BRIDGE else (),
            fixed_mounts=tuple(fixed),
            jobs=jobs,
            job=opts.job or self._runs_to_end(m) or m.name in self.one_shot,
        )

    def _copies(self, volume: str) -> bool:
        return any(v.name == volume and v.kind is VolumeKind.COPY for v in self.d.volumes)

    def _runs_to_end(self, m: Member) -> bool:
        """One another waits for to complete (a Kubernetes init container is a job by its settings)."""
        return any(
            dep.container == m.name and dep.condition in (Condition.COMPLETE, Condition.SUCCESS)
            for o in self.d.members
            for dep in o.depends_on
        )

    def spec(self, m: Member, opts: ProbeOptions, mounts: Sequence[Mount], read_only: bool, purpose: str) -> RunSpec:
        cfg = self.rt.inspect(m.image)
        image_volumes = list(cfg.volumes)
        specs = [self.semantics.mount_spec(x, image_volumes, dict(opts.storage)) for x in mounts]
        taken = {s.path for s in specs}
        specs += [f for f in opts.fixed_mounts if f.path not in taken]
        spec = opts.run_spec(
            m.image,
            f"{purpose}: {m.name}",
            specs,
            read_only,
            health_for(opts, cfg.health),
            cfg.stop_signal,
            self.semantics.unprivileged_port_start,
        )
        # the smoke tests run once the whole deployment is up, not at each container's start
        return replace(spec, smoke=(), soak=0.0, ports=opts.ports(cfg.ports))

    # -- the steps ----------------------------------------------------------------------------------
    def run(self) -> DeploymentResult:
        """The writable deployment first (the reference), then each container, then all together."""
        if self.base.smoke and not any(self.ports().values()):
            raise UsageError(
                f"{self.d.name}: --smoke needs a port to reach: no container publishes one (portMappings, "
                "containerPort, ports, EXPOSE); add --publish PORT"
            )
        self.obs.phase(self.d.name, "the whole deployment, writable")
        writable = self.up(None, "deployment (writable)")
        failed = {n: why for n, (ok, why, _) in writable.items() if not ok}
        if failed:
            reason = "; ".join(f"{n}: {why}" for n, why in failed.items())
            members = [self._fails_writable(m, failed.get(m.name, "")) for m in self.d.members]
            return DeploymentResult(self.d.name, members, False, f"fails even writable: {reason}", self.runs)
        results: dict[str, ProbeResult] = {}
        for level in self.d.levels():
            with ThreadPoolExecutor(max_workers=len(level)) as pool:
                for name, r in pool.map(lambda n: (n, self.member(n)), level):
                    results[name] = r
        members = [MemberResult(m.name, m.kind, results[m.name]) for m in self.d.members]
        if not all(r.verified for r in results.values()):
            return DeploymentResult(
                self.d.name, members, False, "a container cannot be made to work read-only", self.runs
            )
        self.obs.phase(self.d.name, "the whole deployment, read-only with exactly these mounts")
        together = self.up(results, "deployment (read-only, together)", writable)
        bad = {n: why for n, (ok, why, _) in together.items() if not ok}
        if self.smoke_failed:
            bad["smoke tests"] = self.smoke_failed
        if bad:
            reason = "; ".join(f"{n}: {why}" for n, why in bad.items())
            return DeploymentResult(self.d.name, members, False, f"together, read-only: {reason}", self.runs)
        ok = "every container read-only with exactly these mounts, together: started, exercised, stopped as writable"
        return DeploymentResult(self.d.name, members, True, ok, self.runs)

    def _smoke(self, box: Sandbox, purpose: str) -> None:
        """The smoke tests, once every container is up: failing writable, the tests are to be fixed first."""
        if not self.base.smoke:
            return
        env = self._smoke_env(box, self.d.order()) or ()
        ok, detail = box.smoke(self.base.smoke, env, self.base.timeout)
        self.runs.append(RunRecord(f"{purpose}: smoke tests", purpose.endswith("together)"), (), ok, detail, 0.0))
        if ok:
            return
        if "writable" in purpose:
            raise SmokeTestFailed(f"{self.d.name}: your smoke test fails even writable: {detail}")
        self.smoke_failed = detail

    def _soaks(self) -> str | None:
        """The member whose start holds the read-only deployment up for ``--soak`` seconds once all are
        exercised (the last service started): writes on a timer happen together too, before the stop."""
        if self.base.soak <= 0:
            return None
        services = [
            n
            for n in self.d.order()
            if not (self.base.with_container(self.d.member(n).settings).job or self._runs_to_end(self.d.member(n)))
            and n not in self.one_shot
        ]
        return services[-1] if services else None

    def _fails_writable(self, m: Member, why: str) -> MemberResult:
        text = (
            f"the deployment fails even with writable root filesystems: {why}"
            if why
            else ("not probed: another container of the deployment fails even with a writable root filesystem")
        )
        return MemberResult(m.name, m.kind, ProbeResult(m.image, False, reason=text))

    def member(self, name: str) -> ProbeResult:
        """``name``'s probe, with what it does not start before running beside it, as the document has it."""
        m = self.d.member(name)
        with self._sandbox() as box:  # what runs beside it is stopped, last started first, on leaving
            place = self._place(box)
            needed = set(self.d.closure(name))
            beside = self._beside(name)
            for n in beside:
                other = self.d.member(n)
                spec = self.spec(other, self.options(other, place), [], False, "beside (writable)")
                if n not in needed and spec.mode == "service":  # the platform starts it; nobody waits for it
                    spec = replace(spec, health=None, settle=0.5, timeout=10)
                started = box.start(spec).started
                log.info("%s: %s started beside %s: %s", self.d.name, n, name, started.start_detail or "ready")
            self.obs.phase(m.image, f"{self.d.name}: {name}, with {len(beside)} beside it")
            opts = self.options(m, place)
            if opts.smoke:
                env = self._smoke_env(box, [*beside, name])
                own = bool(self.ports().get(name))  # its own runs publish it, each on an address of its own
                if env is None or (not own and "ECS5PROBE_HOST" not in dict(env)):
                    opts = replace(opts, smoke=())  # what the smoke test reaches is not up: not run here
                else:
                    opts = replace(opts, smoke_env=tuple((k, v) for k, v in env if k != host_variable(name)))
            return probe_image(self.rt, m.image, opts, self.semantics, self.obs)

    def _beside(self, name: str) -> list[str]:
        """The containers that run while ``name`` is probed: all but those that start after it."""
        after = {n for n in self.d.order() if n != name and name in self.d.closure(n)}
        return [n for n in self.d.order() if n != name and n not in after]

    def _judged(self, m: Member, spec: RunSpec, o: RunOutcome, ref: int | None) -> tuple[bool, str]:
        """As a run is judged; a non-essential container may also run to its end (ECS lets the task go on)."""
        ok, why = judge(o, ref, spec.mode == "job")
        if not ok and not m.essential and o.exited_early and o.exit_code == 0:
            self.one_shot.add(m.name)
            return True, "ran to its end (exit 0): non-essential, the task goes on"
        return ok, why

    def up(
        self,
        results: dict[str, ProbeResult] | None,
        purpose: str,
        reference: dict[str, tuple[bool, str, RunOutcome]] | None = None,
    ) -> dict[str, tuple[bool, str, RunOutcome]]:
        """Every container in order (read-only with ``results``' mounts; writable without), each waited
        for, exercised, then all stopped in reverse order; per container: ok, why, its outcome."""
        out: dict[str, tuple[bool, str, RunOutcome]] = {}
        with self._sandbox() as box:  # on an error, what was started is stopped on leaving
            place = self._place(box)
            started: list[tuple[Member, RunSpec, Running]] = []
            soaks = self._soaks() if results is not None else None
            for m in [self.d.member(n) for n in self.d.order()]:
                mounts = results[m.name].mounts if results is not None else []
                p = results[m.name].privilege if results is not None else None
                if p is not None and p.verified and p.user:
                    mounts = [owned_by(x, p.user) for x in mounts]
                spec = self.spec(m, self.options(m, place), mounts, results is not None, purpose)
                if p is not None and p.verified:  # together as it will be written: user, capabilities too
                    spec = with_privilege(spec, p)
                if m.name == soaks:  # the others run on meanwhile: a death among them fails their stop
                    spec = replace(spec, soak=self.base.soak)
                running = box.start(spec)
                started.append((m, spec, running))
                if not self._judged(m, spec, running.started, None)[0]:
                    break  # what depends on it would wait for it in vain
            else:
                self._smoke(box, purpose)
            for m, spec, running in reversed(started):
                done = running.stop()
                ref = reference[m.name][2].stop_exit_code if reference and m.name in reference else None
                ok, why = self._judged(m, spec, done, ref)
                self.runs.append(
                    RunRecord(spec.purpose, spec.read_only, tuple(x.path for x in spec.mounts), ok, why, done.duration)
                )
                out[m.name] = (ok, why if ok else why + last_words(done.logs), done)
        for m in self.d.members:
            out.setdefault(m.name, (False, "not started: a container it needs did not start", RunOutcome()))
        return out


def probe_deployment(
    runtime: Runtime,
    d: Deployment,
    base: ProbeOptions,
    semantics: StorageSemantics,
    observer: Observer | None = None,
    attach: str | None = None,
) -> DeploymentResult:
    """The core's entry: probe what runs, from one image (:meth:`Deployment.of_image`) to a whole task.

    A container alone (and no network to ``attach`` to) needs no sandbox: its own runs are the probe, and
    its result is exactly an image's. Otherwise see the module's docstring."""
    if d.alone and attach is None:
        (m,) = d.members
        # a smoke test may name it too (ECS5PROBE_HOST_<NAME>, as in a Compose project)
        opts = replace(base, member=m.name if base.smoke and m.name != m.image else "").with_container(m.settings)
        result = probe_image(runtime, m.image, opts, semantics, observer)
        member = MemberResult(m.name, m.kind, result)
        return DeploymentResult(d.name, [member], True, "one container: its own runs verify it", alone=True)
    return Together(runtime, d, base, semantics, observer, attach).run()
