"""Pure builders of Docker SDK arguments from a RunSpec (unit-tested without a daemon)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecs5probe.core.ports import MountSpec, RunSpec
from ecs5probe.model import HealthSpec

SESSION_LABEL = "ecs5probe.session"
PID_LABEL = "ecs5probe.pid"
HOST_LABEL = "ecs5probe.host"
PURPOSE_LABEL = "ecs5probe.purpose"
NS = 1_000_000_000


def tmpfs_options(m: MountSpec) -> str:
    """Docker ``--tmpfs`` options for an ECS ``linuxParameters.tmpfs`` entry (size in MiB)."""
    opts = [o for o in m.options if not o.startswith("size=")]
    if m.read_only:
        opts = ["ro", *[o for o in opts if o != "rw"]]
    return ",".join([*opts, f"size={m.size_mib}m"])


def healthcheck(h: HealthSpec) -> dict[str, Any]:
    """A Docker healthcheck dict (nanoseconds) from seconds."""
    return {
        "test": list(h.test),
        "interval": max(int(h.interval * NS), 1_000_000),
        "timeout": max(int(h.timeout * NS), 1_000_000),
        "retries": max(int(h.retries), 1),
        "start_period": int(h.start_period * NS),
    }


def health_argv(test: Sequence[str], shell: Sequence[str] | None = None) -> list[str] | None:
    """The command Docker runs for a health ``test`` (``CMD`` as is, ``CMD-SHELL`` through the image's
    shell, ``/bin/sh -c`` by default); None for ``NONE``, an empty test or an unknown kind."""
    if len(test) < 2:
        return None
    if test[0] == "CMD":
        return list(test[1:])
    if test[0] == "CMD-SHELL":
        return [*(shell or ["/bin/sh", "-c"]), " ".join(test[1:])]
    return None


def volume_options(m: MountSpec) -> dict[str, Any]:
    """``volumes.create`` arguments: a fresh tmpfs is a local volume of type tmpfs with exactly its
    options (mounted without copying, its root keeps them); anything else a plain local volume."""
    if m.kind == "tmpfs" and m.fresh:
        return {"driver": "local", "driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": tmpfs_options(m)}}
    return {}


def needs_volume(m: MountSpec) -> bool:
    """Whether the run makes a volume of its own for ``m`` (a shared one is the deployment's)."""
    return m.source is None and (m.kind != "tmpfs" or m.fresh)


def volume_mount(m: MountSpec, volume_name: str) -> dict[str, Any]:
    """A HostConfig mount of a named volume: empty (ECS bind) unless content is to be copied."""
    return {
        "Type": "volume",
        "Source": volume_name,
        "Target": m.path,
        "ReadOnly": m.read_only,
        "VolumeOptions": {"NoCopy": not m.copy_content},
    }


def create_kwargs(
    spec: RunSpec, labels: dict[str, str], volume_names: dict[str, str], host_cpus: int = 1
) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.create`` that run ``spec`` as ECS would, fenced in:
    pids, memory and CPU limits, no new privileges, Docker's default seccomp profile, never privileged."""
    memory = f"{spec.memory_mib}m"
    kw: dict[str, Any] = {
        "image": spec.image,
        "detach": True,
        "labels": {**labels, PURPOSE_LABEL: spec.purpose[:60]},
        "read_only": spec.read_only,
        "network_mode": spec.network,
        "privileged": False,
        "security_opt": ["no-new-privileges"],
        "pids_limit": spec.pids_limit,
        "mem_limit": memory,
        "memswap_limit": memory,
        "nano_cpus": int((spec.cpus if spec.cpus is not None else host_cpus) * 1e9),
    }
    if spec.aliases:  # on a deployment's network, reached by its names (a Compose service's)
        from docker.types import EndpointConfig

        del kw["network_mode"]
        kw["network"] = spec.network
        kw["networking_config"] = {spec.network: EndpointConfig("1.41", aliases=list(spec.aliases))}
    tmpfs = {m.path: tmpfs_options(m) for m in spec.mounts if m.kind == "tmpfs" and not m.fresh and not m.source}
    if tmpfs:
        kw["tmpfs"] = tmpfs
    mounts = [volume_mount(m, m.source or volume_names[m.path]) for m in spec.mounts if needs_volume(m) or m.source]
    if mounts:
        kw["mounts"] = mounts
    if spec.health is not None and not spec.health.network:  # network probes: a helper checks them
        kw["healthcheck"] = healthcheck(spec.health)
    if spec.entrypoint is not None:
        kw["entrypoint"] = list(spec.entrypoint)
    if spec.command is not None:
        kw["command"] = list(spec.command)
    if spec.user is not None:
        kw["user"] = spec.user
    if spec.workdir is not None:
        kw["working_dir"] = spec.workdir
    if spec.environment:
        kw["environment"] = list(spec.environment)
    allowed = {"init", "cap_add", "cap_drop", "mem_limit", "ulimits", "group_add", "sysctls"}
    for key, value in spec.docker_options:
        if key not in allowed:
            raise ValueError(f"unsupported docker option {key!r}")
        kw[key] = value
        if key == "mem_limit":  # the task definition's memory is the limit: no swap beyond it
            kw["memswap_limit"] = value
    return kw


def without_mount_targets(diff: list[tuple[str, str]], targets: list[str]) -> list[tuple[str, str]]:
    """docker diff lists the mount targets Docker created, and their parents (changed, or added where
    the image lacked them, as busybox images lack /sbin for Docker's init): drop them."""

    def under(path: str, t: str) -> bool:
        return path == t or path.startswith(t.rstrip("/") + "/")

    def above(path: str, t: str) -> bool:
        return path == "/" or t.startswith(path.rstrip("/") + "/")

    return [(k, p) for k, p in diff if not any(under(p, t) or above(p, t) for t in targets)]
