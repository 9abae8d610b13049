"""Run a patched pod spec on Docker the way kubelet would, independently of ecs5probe's runtime.

emptyDir: a fresh, empty directory of mode 0777 shared by the pod's containers (a volume made so by a
busybox container; ``medium: Memory``: a tmpfs-backed volume of that mode; with the pod's fsGroup:
that group and the setgid bit); initContainers run first, in order, to completion;
then the containers, with their securityContext (readOnlyRootFilesystem, runAsUser/runAsGroup),
command/args, env, and the pod's fsGroup as a supplementary group.
"""

from __future__ import annotations

import re
import time
from typing import Any

import docker

HELPER = "ecs5probe/busybox:latest"


def _bytes(q: str) -> int:
    m = re.match(r"^(\d+)(Ki|Mi|Gi)?$", str(q))
    assert m, q
    return int(m.group(1)) * {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[m.group(2)]


class Pod:
    def __init__(
        self,
        client: docker.DockerClient,
        spec: dict[str, Any],
        label: dict[str, str],
        images: dict[str, str],
        shared_network: bool = False,
    ):
        self.client, self.spec, self.label, self.images = client, spec, label, images
        self.volumes: dict[str, Any] = {}
        self.sidecars: list[Any] = []  # native sidecars (initContainers with restartPolicy: Always)
        # A pod's containers share one network namespace (its pause container's); a one-container
        # check may do without.
        self.holder = (
            client.containers.run(HELPER, ["sleep", "3600"], detach=True, network_mode="none", labels=label)
            if shared_network
            else None
        )
        fs_group = (spec.get("securityContext") or {}).get("fsGroup")
        self.fs_group = None if fs_group is None else int(fs_group)
        for v in spec.get("volumes") or []:
            ed = v.get("emptyDir")
            assert ed is not None, f"only emptyDir volumes are emulated: {v}"
            if ed.get("medium") == "Memory":  # a tmpfs of kubelet's mode, whatever the image has there
                mode, gid = ("2777", f",gid={self.fs_group}") if self.fs_group is not None else ("0777", "")
                size = _bytes(ed.get("sizeLimit", "64Mi"))
                opts = {"type": "tmpfs", "device": "tmpfs", "o": f"mode={mode}{gid},size={size}"}
                vol = client.volumes.create(driver="local", driver_opts=opts, labels=label)
                self.volumes[v["name"]] = ("volume", vol.name)
            else:
                vol = client.volumes.create(labels=label)
                mode, owner = ("2777", f"0:{self.fs_group}") if self.fs_group is not None else ("0777", "0:0")
                client.containers.run(
                    HELPER,
                    ["sh", "-c", f"chown {owner} /v && chmod {mode} /v"],
                    mounts=[docker.types.Mount("/v", vol.name, type="volume", no_copy=True)],
                    network_mode="none",
                    remove=True,
                    labels=label,
                )
                self.volumes[v["name"]] = ("volume", vol.name)

    def _kwargs(self, c: dict[str, Any]) -> dict[str, Any]:
        sc, psc = c.get("securityContext") or {}, self.spec.get("securityContext") or {}
        kw: dict[str, Any] = {
            "image": self.images.get(c["image"], c["image"]),
            "read_only": bool(sc.get("readOnlyRootFilesystem")),
            "network_mode": f"container:{self.holder.id}" if self.holder is not None else "none",
            "labels": self.label,
            "detach": True,
        }
        uid, gid = sc.get("runAsUser", psc.get("runAsUser")), sc.get("runAsGroup", psc.get("runAsGroup"))
        if uid is not None:
            kw["user"] = f"{uid}:{gid}" if gid is not None else str(uid)
        if self.fs_group is not None:
            kw["group_add"] = [str(self.fs_group)]
        if c.get("command") is not None:
            kw["entrypoint"] = c["command"]
        if c.get("args") is not None:
            kw["command"] = c["args"]
        if c.get("env"):
            kw["environment"] = [f"{e['name']}={e.get('value', '')}" for e in c["env"]]
        kw["mounts"] = [
            docker.types.Mount(vm["mountPath"], self.volumes[vm["name"]][1], type="volume", no_copy=True)
            for vm in c.get("volumeMounts") or []
        ]
        return kw

    def run_init_containers(self) -> None:
        for c in self.spec.get("initContainers") or []:
            if c.get("restartPolicy") == "Always":  # a native sidecar: started, kept running
                self.sidecars.append(self.client.containers.run(**self._kwargs(c)))
                continue
            ctr = self.client.containers.run(**self._kwargs(c))
            code = ctr.wait(timeout=120)["StatusCode"]
            logs = ctr.logs().decode(errors="replace")
            ctr.remove(force=True)
            assert code == 0, f"initContainer {c['name']} exited {code}: {logs}"

    def remove(self) -> None:
        """The pod's sidecars, holder and volumes (the containers started by ``start`` are the caller's)."""
        for ctr in [*self.sidecars, *([self.holder] if self.holder is not None else [])]:
            ctr.remove(force=True, v=True)
        for _, name in self.volumes.values():
            self.client.volumes.get(name).remove(force=True)

    def start(self, name: str) -> Any:
        (c,) = [c for c in self.spec["containers"] if c["name"] == name]
        return self.client.containers.run(**self._kwargs(c))


def wait_healthy(container: Any, timeout: float = 60) -> None:
    """The image's HEALTHCHECK as the readiness signal (kubelet would use the pod's probe)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        assert state["Status"] == "running", f"exited {state['ExitCode']}: {container.logs()[-2000:]!r}"
        if (state.get("Health") or {}).get("Status") == "healthy":
            return
        time.sleep(0.3)
    raise AssertionError(f"not healthy in {timeout}s: {container.logs()[-2000:]!r}")
