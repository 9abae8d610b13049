"""An independent check: apply an ECS fragment to a plain read-only container (testcontainers), as ECS would."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import docker
from docker.types import Mount as DockerMount
from testcontainers.core.container import DockerContainer

from ecs5probe.runtime.args import SESSION_LABEL


@dataclass
class Check:
    ready: bool
    detail: str
    stop_exit: int | None
    check_ok: bool | None = None  # the ``check`` command, run once ready


def apply(
    client: docker.DockerClient,
    image: str,
    fragment: dict[str, Any] | None,
    session: str,
    job: bool = False,
    read_only: bool = True,
    check: str | None = None,
) -> Check:
    """Run ``image`` with the fragment's mounts (ECS semantics), wait for ready, stop gracefully."""
    labels = {SESSION_LABEL: session}
    attrs = client.images.get(image).attrs["Config"]
    image_volumes = set((attrs.get("Volumes") or {}).keys())
    health = attrs.get("Healthcheck")
    c = DockerContainer(image)
    mounts, volumes = [], []
    container_def = (fragment or {}).get("containerDefinition", {})
    for t in container_def.get("linuxParameters", {}).get("tmpfs", []):
        opts = ",".join([*t.get("mountOptions", []), f"size={t['size']}m"])
        c.with_tmpfs_mount(t["containerPath"], opts)
    declared = {v["name"]: v for v in (fragment or {}).get("volumes", [])}
    for mp in container_def.get("mountPoints", []):
        vol = declared[mp["sourceVolume"]]
        copy = "dockerVolumeConfiguration" in vol or mp["containerPath"] in image_volumes
        v = client.volumes.create(labels=labels)
        volumes.append(v)
        mounts.append(DockerMount(mp["containerPath"], v.name, type="volume", no_copy=not copy))
    kwargs: dict[str, Any] = {"read_only": read_only, "network_mode": "none", "labels": labels, "mounts": mounts}
    if health and health.get("Test") and health["Test"][0] != "NONE":
        kwargs["healthcheck"] = {
            **{k.lower(): v for k, v in health.items() if k in ("Test", "Retries")},
            "interval": 500_000_000,
            "start_period": 10_000_000_000,
        }
    c.with_kwargs(**kwargs)
    try:
        c.start()
        w = c.get_wrapped_container()
        ready, detail = _wait(w, bool(kwargs.get("healthcheck")), job)
        if job:
            return Check(ready, detail, None)
        if not ready:
            return Check(False, detail, None)
        check_ok = None if check is None else w.exec_run(["sh", "-c", check]).exit_code == 0
        w.kill(signal="SIGTERM")
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            w.reload()
            if w.status == "exited":
                break
            time.sleep(0.2)
        else:
            w.kill()
        return Check(True, detail, w.wait(timeout=20)["StatusCode"], check_ok)
    finally:
        c.stop(force=True, delete_volume=True)
        for v in volumes:
            v.remove(force=True)


def _wait(w: Any, has_health: bool, job: bool) -> tuple[bool, str]:
    deadline = time.monotonic() + 30
    settle = time.monotonic() + 3
    while time.monotonic() < deadline:
        w.reload()
        state = w.attrs["State"]
        if state["Status"] == "exited":
            code = state["ExitCode"]
            return (job and code == 0), f"exited {code}"
        if has_health and not job:
            status = (state.get("Health") or {}).get("Status")
            if status in ("healthy", "unhealthy"):
                return status == "healthy", status
        elif not job and time.monotonic() > settle:
            return True, "running"
        time.sleep(0.2)
    return False, "timeout"
