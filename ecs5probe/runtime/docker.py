"""The Docker runtime: implements the core's ports (Runtime, ImageFacts) on the Docker SDK.

Only ``ecs5probe/runtime/`` imports ``docker``. Responsibilities live in their own modules: the session
(labels, cleanup, daemon loss) in ``session``, image facts in ``facts``, archive reads in ``archive``,
a container's wait/exercise/stop in ``container``, the strace bundle in ``tracer`` and ``bundle``,
pure argument builders in ``args``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import docker.errors

from ecs5probe.core.ports import Network, RunOutcome, RunSpec, WrittenDir, is_program
from ecs5probe.errors import ImageNotFound, UsageError
from ecs5probe.model import HealthSpec, ImageConfig
from ecs5probe.runtime import archive, bundle, container, layer, netprobe, registry, tracer
from ecs5probe.runtime.args import create_kwargs, needs_volume, volume_options, without_mount_targets
from ecs5probe.runtime.facts import DockerFacts, facts_container
from ecs5probe.runtime.images import build_image, image_exists
from ecs5probe.runtime.logs import bounded_logs
from ecs5probe.runtime.session import RuntimeFailure, Session, short
from ecs5probe.runtime.users import resolve_user

if TYPE_CHECKING:
    from ecs5probe.runtime.sandbox import DockerSandbox

__all__ = ["DockerFacts", "DockerRuntime", "RuntimeFailure", "build_image", "image_exists"]

_DIFF_KIND = {0: "C", 1: "A", 2: "D"}
#: Mount targets of a traced run: the bundle, and Docker's init (at /usr/sbin where /sbin is a link).
TRACE_TARGETS = [bundle.MOUNT, "/sbin/docker-init", "/usr/sbin/docker-init"]


def _seconds(ns: int | None, default: float) -> float:
    return ns / 1e9 if ns else default


class DockerRuntime(Session):
    """Runs probe containers on the local (or ``DOCKER_HOST``) daemon; pulls only when asked; never privileged."""

    def __init__(self, session: str | None = None, client_factory: Any = None):
        super().__init__(session, client_factory)
        self._tracer: tuple[bool, str] | None = None
        self._helper: str | None = None
        self._seccomp = False  # strace has --seccomp-bpf
        self._netcheck_tag: str | None = None
        self._relays: dict[str, tuple[container.Relay, float]] = {}  # begun runs: relay, start (monotonic)
        self._configs: dict[str, ImageConfig] = {}
        self._runs = 0
        #: observe runs kept for written() and diff(): their volumes, the diff's mount targets to drop,
        #: and when they started (what the app wrote is newer)
        self._kept: dict[str, tuple[list[str], list[str], float]] = {}
        #: prepared runs, not started: container, trace file, volumes, traced, seconds it took
        self._prepared: dict[str, tuple[Any, str | None, dict[str, str], bool, float]] = {}

    # -- image -------------------------------------------------------------------------------------
    def inspect(self, image: str) -> ImageConfig:
        with self.daemon(f"inspecting {image}"):
            return self._inspect(image)

    def pull(self, image: str, progress: Callable[[str], None] | None = None) -> None:
        with self.daemon(f"pulling {image}"):
            registry.pull(self.client().api, image, progress)
            with self._lock:
                self._configs.pop(image, None)

    def _inspect(self, image: str) -> ImageConfig:
        if image in self._configs:
            return self._configs[image]
        try:
            attrs = self.client().api.inspect_image(image)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(f"no such image: {image} (build it, or pull it: --pull missing)") from None
        except docker.errors.APIError as e:
            raise ImageNotFound(f"cannot inspect image {image}: {short(e)}") from None
        cfg = attrs.get("Config") or {}
        hc = cfg.get("Healthcheck") or {}
        health = None
        if hc.get("Test"):
            health = HealthSpec(
                test=tuple(hc["Test"]),
                interval=_seconds(hc.get("Interval"), 30.0),
                timeout=_seconds(hc.get("Timeout"), 30.0),
                retries=int(hc.get("Retries") or 3),
                start_period=_seconds(hc.get("StartPeriod"), 0.0),
            )
        self._configs[image] = ImageConfig(
            ref=image,
            id=attrs.get("Id", ""),
            entrypoint=tuple(cfg.get("Entrypoint") or ()),
            cmd=tuple(cfg.get("Cmd") or ()),
            user=cfg.get("User") or "",
            workdir=cfg.get("WorkingDir") or "",
            env=tuple(cfg.get("Env") or ()),
            health=health,
            volumes=tuple(sorted((cfg.get("Volumes") or {}).keys())),
            stop_signal=cfg.get("StopSignal") or "SIGTERM",
            ports=tuple(sorted((cfg.get("ExposedPorts") or {}).keys())),
        )
        return self._configs[image]

    def tracer(self) -> tuple[bool, str]:
        """Build (once per machine) the strace bundle image, make its helper container, check ptrace."""
        with self.daemon("setting up strace"), self._lock:
            if self._tracer is None:
                ok, how, self._helper, self._seccomp = tracer.set_up(self)
                self._tracer = (ok, how)
            return self._tracer

    def facts(self, image: str, user: str) -> tuple[DockerFacts, int, int]:
        with self.daemon(f"reading {image}"):
            return self._facts(image, user)

    def _facts(self, image: str, user: str) -> tuple[DockerFacts, int, int]:
        self.check()
        cid, sleeps = self._facts_container(image)
        facts = DockerFacts(self, cid, bundle.SLEEPER if sleeps else None)
        name, _, group = user.partition(":")
        needs_files = not (name.isdigit() or name == "") or (group != "" and not group.isdigit())
        try:
            if needs_files or (name.isdigit() and not group):  # a numeric uid alone: its gid is in passwd
                uid, gid = resolve_user(user, facts.read_file("/etc/passwd"), facts.read_file("/etc/group"))
            else:
                uid, gid = resolve_user(user)
        except KeyError as e:
            facts.close()
            raise UsageError(f"{image}: {e.args[0]}") from None
        return facts, uid, gid

    def _facts_container(self, image: str) -> tuple[str, bool]:
        with self._lock:
            helper = self._helper if self._tracer is not None else None
        cid, sleeps = facts_container(self, image, helper)
        if sleeps:  # in the background: until it runs, its reads go to it as a created container
            threading.Thread(target=self._start_quietly, args=(cid,), daemon=True).start()
        return cid, sleeps

    def _start_quietly(self, cid: str) -> None:
        try:
            self.client().api.start(cid)
        except Exception:  # noqa: BLE001 - a container not started is read all the same, only slower
            pass

    # -- one run -------------------------------------------------------------------------------------
    def prepare(self, spec: RunSpec) -> str:
        """Create the run's storage and container, not started: a volume that copies the image's
        content is filled now (a second here for PostgreSQL's data directory), beside the other runs
        of a wave. ``run(spec, prepared=...)`` starts it; ``discard`` removes one never run."""
        with self.daemon(f"preparing {spec.purpose} of {spec.image}"):
            self.check()
            t0 = time.monotonic()
            out = RunOutcome()
            volumes: dict[str, str] = {}
            try:
                c, trace_file = self.create(spec, volumes, out)
            except BaseException:
                self.release(None, out, volumes)  # the volumes it made
                raise
            with self._lock:
                self._prepared[c.id] = (c, trace_file, volumes, out.traced, time.monotonic() - t0)
            return str(c.id)

    def run(self, spec: RunSpec, prepared: str | None = None) -> RunOutcome:
        with self.daemon(f"{spec.purpose} of {spec.image}"):
            return self._run(spec, prepared)

    def _run(self, spec: RunSpec, prepared: str | None = None) -> RunOutcome:
        self.check()
        t0 = time.monotonic()
        out = RunOutcome()
        volumes: dict[str, str] = {}
        cid = None
        try:
            with self._lock:
                ready = self._prepared.pop(prepared, None) if prepared is not None else None
            if ready is not None:
                made, trace_file, volumes, out.traced, took = ready
                c = self.client().containers.prepare_model(made.attrs)  # this thread's client
                t0 -= took  # the run's duration includes its preparation
            else:
                c, trace_file = self.create(spec, volumes, out)
            cid = c.id
            self._lifecycle(c, spec, out, trace_file)
        finally:
            out.duration = time.monotonic() - t0
            self.release(cid, out, volumes)
        return out

    def create(self, spec: RunSpec, volumes: dict[str, str], out: RunOutcome) -> tuple[Any, str | None]:
        """The run's volumes (into ``volumes``, so that the caller removes them) and its container."""
        for m in spec.mounts:
            if needs_volume(m):
                volumes[m.path] = self.client().volumes.create(labels=self.labels, **volume_options(m)).name
                self.track(volume=volumes[m.path])
        if spec.ports and spec.network == "none":  # smoke tests reach it: an internal network, no other
            spec = replace(spec, network=container.smoke_network(self))
        kwargs, trace_file = self._create_kwargs(spec, volumes, out)
        try:
            c = self.client().containers.create(**kwargs)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(f"no such image: {spec.image}") from None
        except docker.errors.APIError as e:
            raise RuntimeFailure(f"docker refused to create the container: {short(e)}") from None
        self.track(container=c.id)
        return c, trace_file

    def busybox_image(self) -> str:
        """The static busybox helper image (health probes, the smoke tests' relay), built once."""
        with self._lock:
            if self._netcheck_tag is None:
                self._netcheck_tag = netprobe.image(self)
            return self._netcheck_tag

    def _create_kwargs(
        self, spec: RunSpec, volumes: dict[str, str], out: RunOutcome
    ) -> tuple[dict[str, Any], str | None]:
        kwargs = create_kwargs(spec, self.labels, volumes, os.cpu_count() or 1)
        if not (spec.trace and self.tracer()[0]):
            return kwargs, None
        cfg = self.inspect(spec.image)
        argv = bundle.effective_argv(cfg.entrypoint, cfg.cmd, spec.entrypoint, spec.command)
        with self._lock:
            self._runs += 1
            trace_file = f"{bundle.OUT_DIR}/{self.session}-{self._runs}.trace"
        kwargs.update(
            entrypoint=bundle.traced_argv(
                argv, trace_file, spec.trace_successes, spec.trace_syscalls, seccomp=self._seccomp
            ),
            command=[],
            # tini as PID 1 passes the stop signal to the whole group: the app, not only strace
            init=True,
            volumes_from=[self._helper],
            environment=[*kwargs.get("environment", []), "TINI_KILL_PROCESS_GROUP=1"],
        )
        out.traced = True
        return kwargs, trace_file

    def _lifecycle(self, c: Any, spec: RunSpec, out: RunOutcome, trace_file: str | None) -> None:
        """Start, wait, exercise, stop; then collect logs, the trace and (observing) what changed."""
        api = self.client().api
        # a deployment's shared volume is written by the others too: its writes are not this run's
        watched = [m.path for m in spec.mounts if spec.observe and needs_volume(m) and m.copy_content]
        before = {p: archive.listing(api, c.id, p) for p in watched}
        began = self.begin(c, spec, out)
        self.end(c, spec, out, trace_file, began)
        if spec.observe:
            out.diff_targets = [m.path for m in spec.mounts] + (TRACE_TARGETS if trace_file else [])
            for p in watched:
                after = archive.listing(api, c.id, p)
                out.volume_writes += [name for name, meta in after.items() if before[p].get(name) != meta]
            out.handle = c.id  # kept, stopped, for written(); discard() removes it

    def begin(self, c: Any, spec: RunSpec, out: RunOutcome, netcheck: bool = True) -> bool:
        """The first half of a run: start, wait until ready (or a job's end), exercise. Whether it started
        (a sandbox's member is begun here too: ``runtime/sandbox.py``).

        ``netcheck``: a Kubernetes httpGet/tcpSocket probe is checked by a helper container (see
        :meth:`_netcheck`); without it such a container is ready once its output is quiet."""
        out.started_epoch = time.time()
        try:
            c.start()
        except docker.errors.APIError as e:
            out.start_detail = f"container did not start: {short(e)}"
            return False
        relay = container.Relay(self, c, spec, out, self.busybox_image)  # smoke tests: made beside the start
        with self._lock:
            self._relays[c.id] = (relay, time.monotonic())
        helper = self._netcheck(c, spec, out) if netcheck else None
        try:
            if spec.mode == "job":
                container.wait_job(self, c, spec, out)
            else:
                container.wait_ready(self, c, spec, out, health_of=helper)
            if out.started and spec.mode == "service":
                container.exercise(self, c, spec, out)
                relay.ready()
                container.after_exercises(self, c, spec, out)
        finally:
            if helper is not None:
                self.remove_container(helper.id)
        return True

    def end(self, c: Any, spec: RunSpec, out: RunOutcome, trace_file: str | None, began: bool) -> None:
        """The second half: stop (what began), then its logs and its trace."""
        with self._lock:
            relay, t0 = self._relays.pop(c.id, (None, time.monotonic()))
        try:
            if began:
                container.stop(self, c, spec, out)
                out.ran_seconds = time.monotonic() - t0
        finally:
            if relay is not None:
                relay.close()
        c.reload()
        out.oom_killed = bool(c.attrs["State"].get("OOMKilled"))
        out.logs = bounded_logs(c.logs(stdout=True, stderr=True, stream=True))
        if trace_file:
            out.trace = archive.read_file(self.client().api, c.id, trace_file)

    def _netcheck(self, c: Any, spec: RunSpec, out: RunOutcome) -> Any | None:
        """For a Kubernetes httpGet/tcpSocket probe: a helper in the container's network namespace."""
        if spec.mode == "job" or spec.health is None or not spec.health.network:
            return None
        try:
            tag = self.busybox_image()
        except netprobe.NetcheckUnavailable as e:
            out.start_detail = f"{spec.health.test[0]} probe not checked: {e}"
            return None
        try:
            helper = self.client().containers.create(**netprobe.create_kwargs(tag, c.id, spec.health, self.labels))
        except docker.errors.APIError as e:
            if container.exited(c):  # gone before its network could be joined: wait_ready says how
                return None
            raise RuntimeFailure(f"docker refused the probe helper container: {short(e)}") from None
        self.track(container=helper.id)
        try:
            helper.start()
        except docker.errors.APIError as e:
            self.remove_container(helper.id)
            if container.exited(c):
                return None
            raise RuntimeFailure(f"the probe helper container did not start: {short(e)}") from None
        return helper

    def release(self, cid: str | None, out: RunOutcome, volumes: dict[str, str]) -> None:
        if cid and out.handle == cid:
            with self._lock:
                self._kept[cid] = (list(volumes.values()), out.diff_targets, out.started_epoch)
            return
        if cid:
            self.remove_container(cid)
        for name in volumes.values():
            self.remove_volume(name)

    def written(self, handle: str, dirs: Sequence[str]) -> dict[str, WrittenDir]:
        """Bytes below each directory of a kept run, and who owns what the app wrote there."""
        with self.daemon("reading what the writable run wrote"):
            with self._lock:
                _, _, started = self._kept.get(handle, ([], [], 0.0))
            out: dict[str, WrittenDir] = {}
            for d in dirs:
                total, owners, programs = 0, set(), []
                with archive.members(self.client().api, handle, d) as members:
                    for full, m in members:
                        total += m.size if m.isfile() else 0
                        if full != d and m.mtime >= int(started) - 1:  # written during the run
                            owners.add((m.uid, m.gid))
                            if m.isfile() and is_program(full, m.mode):
                                programs.append(full)
                out[d] = WrittenDir(total, tuple(sorted(owners)), tuple(programs))
            return out

    def diff(self, handle: str, in_image: Callable[[str], bool] | None = None) -> list[tuple[str, str]]:
        """``docker diff`` of a kept run, without the mount targets Docker made (it can take seconds:
        on fuse-overlayfs the daemon compares the whole root filesystem)."""
        with self.daemon("reading what the writable run changed"):
            with self._lock:
                _, targets, _ = self._kept.get(handle, ([], [], 0.0))
            changes = self.layer_diff(handle, in_image)
            if changes is None:
                raw = self.client().api.diff(handle) or []
                changes = [(_DIFF_KIND.get(d["Kind"], "C"), d["Path"]) for d in raw]
            return without_mount_targets(changes, targets)

    def layer_diff(self, handle: str, in_image: Callable[[str], bool] | None) -> list[tuple[str, str]] | None:
        """docker diff from the container's own layer where Docker's is naive (see ``layer``); None
        where that does not apply or fails (Docker's own diff then)."""
        return layer.read(self, handle, in_image)

    # -- deployments (runtime/sandbox.py) ----------------------------------------------------------
    def sandbox(self, network: Network, attach: str | None = None, publish: Sequence[int] = ()) -> DockerSandbox:
        from ecs5probe.runtime.sandbox import DockerSandbox

        return DockerSandbox(self, network, attach, tuple(publish))

    def discard(self, handle: str) -> None:
        """Remove a kept run's (or a prepared, never run) container and its volumes."""
        with self._lock:
            volumes, _, _ = self._kept.pop(handle, ([], [], 0.0))
            ready = self._prepared.pop(handle, None)
        if ready is not None:
            volumes = list(ready[2].values())
        self.remove_container(handle)
        for name in volumes:
            self.remove_volume(name)
