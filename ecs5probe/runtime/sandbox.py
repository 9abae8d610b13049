"""A deployment's place on this Docker: its network (a holder container whose network namespace the
members share, as a pod's or an awsvpc task's; or a network of its own where service names resolve),
its shared volumes, and its neighbours started and stopped around the container being probed."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import docker.errors

from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.runtime import container, netprobe
from ecs5probe.runtime.logs import bounded_logs
from ecs5probe.runtime.session import RuntimeFailure, short

NETWORK_LABEL = "ecs5probe.network"


@dataclass
class Place:
    """One sandbox: what members join, and what it made."""

    mode: str  # what each member's RunSpec.network is
    holder: str | None = None  # the container owning the shared namespace
    network: str | None = None  # the network it made
    volumes: list[str] = field(default_factory=list)


class Sandboxes:
    """The sandboxes of one runtime (thread-safe)."""

    def __init__(self, rt: Any):  # the DockerRuntime (a Session with create())
        self.rt = rt
        self._places: dict[str, Place] = {}
        self._running: dict[str, tuple[Any, RunOutcome, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def open(self, network: str, attach: str | None = None) -> str:
        rt = self.rt
        client = rt.client()
        if network == "host":
            place = Place("host")
        elif network == "bridge":
            name = attach or f"ecs5probe-{rt.session}-{uuid.uuid4().hex[:8]}"
            if attach is None:  # internal: the members reach each other, nothing outside
                client.networks.create(name, driver="bridge", internal=True, labels=rt.labels)
            place = Place(name, network=None if attach else name)
        else:
            try:
                tag = netprobe.image(rt)
            except netprobe.NetcheckUnavailable as e:
                raise RuntimeFailure(f"a shared network namespace needs a holder container: {e}") from None
            holder = client.containers.create(
                tag,
                entrypoint=[netprobe.BUSYBOX, "sleep", "2147483647"],
                detach=True,
                network_mode=attach or "none",
                labels={**rt.labels, NETWORK_LABEL: "holder"},
                read_only=True,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                mem_limit="16m",
                pids_limit=8,
                # the namespace's members bind as ECS and containerd let them (local Docker sets 0)
                sysctls={"net.ipv4.ip_unprivileged_port_start": "1024"},
            )
            rt.track(container=holder.id)
            holder.start()
            place = Place(f"container:{holder.id}", holder=holder.id)
        key = uuid.uuid4().hex
        with self._lock:
            self._places[key] = place
        return key

    def mode(self, key: str) -> str:
        return self._places[key].mode

    def volume(self, key: str, memory: bool = False) -> str:
        opts = {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=256m"}} if memory else {}
        v = self.rt.client().volumes.create(labels=self.rt.labels, **opts)
        self.rt.track(volume=v.name)
        with self._lock:
            self._places[key].volumes.append(v.name)
        return str(v.name)

    def close(self, key: str) -> None:
        with self._lock:
            place = self._places.pop(key, None)
        if place is None:
            return
        if place.holder:
            self.rt.remove_container(place.holder)
        for v in place.volumes:
            self.rt.remove_volume(v)
        if place.network:
            remove_network(self.rt, place.network)

    def start(self, spec: RunSpec) -> RunOutcome:
        """A neighbour, started and waited for as a run is; left running."""
        rt = self.rt
        out = RunOutcome()
        volumes: dict[str, str] = {}
        t0 = time.monotonic()
        c, _ = rt.create(spec, volumes, out)
        try:
            out.started_epoch = time.time()
            c.start()
            if spec.mode == "job":
                container.wait_job(rt, c, spec, out)
            else:
                container.wait_ready(rt, c, spec, out)
                if out.started:
                    container.exercise(rt, c, spec, out)
        except docker.errors.APIError as e:
            out.start_detail = f"container did not start: {short(e)}"
        except BaseException:
            rt.remove_container(c.id)
            for v in volumes.values():
                rt.remove_volume(v)
            raise
        out.duration = time.monotonic() - t0
        out.handle = str(c.id)
        with self._lock:
            self._running[c.id] = (c, out, volumes)
        return out

    def finish(self, handle: str, spec: RunSpec) -> RunOutcome:
        rt = self.rt
        with self._lock:
            c, started, volumes = self._running.pop(handle)
        out = RunOutcome(
            started=started.started,
            start_detail=started.start_detail,
            exercises_ok=started.exercises_ok,
            exercise_detail=started.exercise_detail,
            ready_after=started.ready_after,
            exited_early=started.exited_early,
            exit_code=started.exit_code,
        )
        t0 = time.monotonic()
        try:
            if spec.mode == "job":
                out.stop_exit_code = started.exit_code
            else:
                container.stop(rt, c, spec, out)
            c.reload()
            out.oom_killed = bool(c.attrs["State"].get("OOMKilled"))
            out.logs = bounded_logs(c.logs(stdout=True, stderr=True, stream=True))
        finally:
            out.duration = started.duration + time.monotonic() - t0
            rt.remove_container(c.id)
            for v in volumes.values():
                rt.remove_volume(v)
        return out


def remove_network(rt: Any, name: str) -> None:
    for _ in range(20):
        try:
            rt.client().api.remove_network(name)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:  # a member is still being removed
            time.sleep(0.1)
