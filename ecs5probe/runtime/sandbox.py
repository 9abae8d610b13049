"""A deployment's place on this Docker (a :class:`~ecs5probe.core.ports.Sandbox`): its network (a holder
container whose network namespace the members share, as a pod's or an awsvpc task's; or a network of its
own where service names resolve; or the host's), its shared volumes, and its members, each begun and
ended by the one run lifecycle of :mod:`ecs5probe.runtime.docker`. A ``with`` bounds all of it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import docker.errors

from ecs5probe.core.ports import Network, RunOutcome, RunSpec, VolumeKind
from ecs5probe.runtime import container, netprobe, smoke
from ecs5probe.runtime.session import RuntimeFailure

if TYPE_CHECKING:
    from ecs5probe.runtime.docker import DockerRuntime

NETWORK_LABEL = "ecs5probe.network"


class DockerSandbox:
    """One deployment's sandbox: made on entering a ``with``, removed (members stopped first, last
    started first) on leaving it."""

    def __init__(self, rt: DockerRuntime, network: Network, attach: str | None = None, publish: tuple[int, ...] = ()):
        self.rt, self.kind, self.attach = rt, Network(network), attach
        #: Container ports smoke tests reach from this machine: in a shared namespace, published on one
        #: loopback address by a relay to the holder (members on a network of their own get a relay each).
        self.publish = publish
        self._relays: list[str] = []
        self._hosts: dict[str, tuple[str, str, str]] = {}  # member ("": the namespace) -> address, id, image
        self._mode: str | None = None  # what each member's RunSpec.network is
        self._holder: str | None = None  # the container owning the shared namespace
        self._made_network: str | None = None  # the network it made
        self._volumes: list[str] = []
        self._members: list[Started] = []

    # -- the with ------------------------------------------------------------------------------------
    def __enter__(self) -> DockerSandbox:
        with self.rt.daemon("making a deployment's sandbox"):
            try:
                self._mode = self._open()
            except BaseException:
                self._close()
                raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _open(self) -> str:
        rt = self.rt
        client = rt.client()
        if self.kind is Network.HOST:
            return "host"
        if self.kind is Network.BRIDGE:
            if self.attach is not None:
                return self.attach
            name = f"ecs5probe-{rt.session}-{uuid.uuid4().hex[:8]}"
            # internal: the members reach each other, nothing outside
            client.networks.create(name, driver="bridge", internal=True, labels=rt.labels)
            self._made_network = name
            return name
        try:
            tag = netprobe.image(rt)
        except netprobe.NetcheckUnavailable as e:
            raise RuntimeFailure(f"a shared network namespace needs a holder container: {e}") from None
        holder = client.containers.create(
            tag,
            entrypoint=[netprobe.BUSYBOX, "sleep", "2147483647"],
            detach=True,
            network_mode=self.attach or (container.smoke_network(rt) if self.publish else "none"),
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
        self._holder = holder.id
        holder.start()
        if self.publish:  # one address for the shared namespace, whichever member listens
            holder.reload()
            nets = (holder.attrs.get("NetworkSettings") or {}).get("Networks") or {}
            found = [(str(n), str(v["IPAddress"])) for n, v in nets.items() if v.get("IPAddress")]
            if found:
                relay, host = container.relay_to(rt, rt.busybox_image, *found[0], list(self.publish))
                self._relays.append(relay)
                self._hosts[""] = (host, holder.id, "")
        return f"container:{holder.id}"

    def _close(self) -> None:
        """Stop what still runs (last started first), then remove the holder, the volumes, the network."""
        with self.rt.daemon("removing a deployment's sandbox"):
            failed: list[BaseException] = []
            try:
                for m in reversed(self._members):
                    try:
                        m.stop()  # once: a member stopped already keeps its outcome
                    except BaseException as e:  # noqa: BLE001 - the others are stopped all the same
                        failed.append(e)
            finally:
                self._members.clear()
                for relay in self._relays:
                    self.rt.remove_container(relay)
                self._relays.clear()
                if self._holder:
                    self.rt.remove_container(self._holder)
                    self._holder = None
                for v in self._volumes:
                    self.rt.remove_volume(v)
                self._volumes.clear()
                if self._made_network:
                    remove_network(self.rt, self._made_network)
                    self._made_network = None
            if failed:
                raise failed[0]

    # -- inside ---------------------------------------------------------------------------------------
    @property
    def network(self) -> str:
        if self._mode is None:
            raise RuntimeError("a sandbox is used inside its with")
        return self._mode

    def volume(self, kind: VolumeKind) -> str:
        opts: dict[str, Any] = {}
        if kind is VolumeKind.MEMORY:
            opts = {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=256m"}}
        with self.rt.daemon("making a deployment's volume"):
            v = self.rt.client().volumes.create(labels=self.rt.labels, **opts)
            self.rt.track(volume=v.name)
            self._volumes.append(str(v.name))
        return str(v.name)

    def start(self, spec: RunSpec) -> Started:
        """The first half of the one run lifecycle (create, start, wait, exercise), left running."""
        rt = self.rt
        with rt.daemon(f"starting {spec.purpose} of {spec.image}"):
            rt.check()
            t0 = time.monotonic()
            out = RunOutcome()
            volumes: dict[str, str] = {}
            c = None
            try:
                c, trace_file = rt.create(spec, volumes, out)
                # as the sandbox always waited: a member's network probe has no helper (quiet output)
                began = rt.begin(c, spec, out, netcheck=False)
            except BaseException:
                rt.release(c.id if c is not None else None, out, volumes)
                raise
            out.duration = time.monotonic() - t0
        member = Started(rt, c, spec, out, volumes, trace_file, began)
        self._members.append(member)
        if spec.member:
            host = out.host or (self._hosts[""][0] if "" in self._hosts else None)
            if host is not None:
                self._hosts[spec.member] = (host, str(c.id), spec.image)
        return member

    def smoke_env(self) -> tuple[tuple[str, str], ...]:
        """What smoke tests are told of the running members: the shared namespace's address
        (``ECS5PROBE_HOST``), and each member's on a network of its own (``ECS5PROBE_HOST_<NAME>``)."""
        env = [("ECS5PROBE_HOST", self._hosts[""][0])] if "" in self._hosts else []
        if self.kind is not Network.SHARED:
            env += [(smoke.host_variable(m), h) for m, (h, _, _) in self._hosts.items() if m]
        return tuple(env)

    def smoke(self, commands: Sequence[str], env: Sequence[tuple[str, str]], timeout: float) -> tuple[bool, str]:
        """Run ``commands`` on this machine against the running deployment (see :meth:`smoke_env`)."""
        extra = dict(env)
        host = extra.pop("ECS5PROBE_HOST", None)
        first = next(iter(v for k, v in self._hosts.items() if k), None)
        if host is None:
            return False, "smoke tests not run: no container of the deployment has a published port"
        cid, image = (first[1], first[2]) if first is not None else ("", "")
        return smoke.run_commands(commands, smoke.environment(host, cid, image, extra), timeout)


class Started:
    """A member of a sandbox, begun by the one run lifecycle and running until :meth:`stop` ends it
    as a run ends (stop, logs) and removes it with its volumes (a :class:`~ecs5probe.core.ports.Running`)."""

    def __init__(
        self,
        rt: DockerRuntime,
        c: Any,
        spec: RunSpec,
        out: RunOutcome,
        volumes: dict[str, str],
        trace_file: str | None,
        began: bool,
    ):
        self._rt, self._c, self._spec, self._out = rt, c, spec, out
        self._volumes, self._trace_file, self._began = volumes, trace_file, began
        self._stopped: RunOutcome | None = None

    @property
    def started(self) -> RunOutcome:
        return self._out

    def stop(self) -> RunOutcome:
        if self._stopped is not None:
            return self._stopped
        rt, spec = self._rt, self._spec
        out = replace(self._out, volume_writes=[], diff_targets=[], handle=None)
        t0 = time.monotonic()
        try:
            with rt.daemon(f"stopping {spec.purpose} of {spec.image}"):
                rt.end(self._c, spec, out, self._trace_file, self._began)
        finally:
            out.duration = self._out.duration + time.monotonic() - t0
            self._stopped = out
            rt.release(self._c.id, out, self._volumes)
        return out


def remove_network(rt: DockerRuntime, name: str) -> None:
    for _ in range(20):
        try:
            rt.client().api.remove_network(name)
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:  # a member is still being removed
            time.sleep(0.1)
