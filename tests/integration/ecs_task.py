"""Run a task definition on Docker the way the ECS agent would, independently of ecs5probe's runtime:
awsvpc's one network namespace (a holder container), task volumes (a name-only volume empty, a Docker
volume copying the image's content), mountPoints, volumesFrom (the source's volumes, read-only when
asked), linuxParameters.tmpfs, readonlyRootFilesystem, healthCheck, dependsOn in order."""

from __future__ import annotations

from typing import Any

import docker

from tests.integration.kubelet import wait_healthy

HELPER = "ecs5probe/busybox:latest"
NS = 1_000_000_000


class Task:
    def __init__(self, client: docker.DockerClient, td: dict[str, Any], label: dict[str, str]):
        self.client, self.td, self.label = client, td, label
        # ECS leaves ip_unprivileged_port_start at 1024 (local Docker sets 0), unless systemControls set it:
        # with awsvpc, any container's network systemControls apply to the task's one namespace
        task_wide = {
            s["namespace"]: s["value"]
            for c in td["containerDefinitions"]
            for s in c.get("systemControls") or []
            if str(s.get("namespace", "")).startswith("net.")
        }
        self.holder = client.containers.run(
            HELPER,
            ["sleep", "3600"],
            detach=True,
            network_mode="none",
            labels=label,
            sysctls={"net.ipv4.ip_unprivileged_port_start": "1024", **task_wide},
        )
        # bridge: each container its own namespace, on a network where only links make names resolve
        self.bridge = td.get("networkMode") == "bridge"
        self.network = (
            client.networks.create(f"ecs-task-{self.holder.id[:8]}", internal=True, labels=label)
            if self.bridge
            else None
        )
        self.volumes = {v["name"]: client.volumes.create(labels=label).name for v in td.get("volumes") or []}
        self.copying = {v["name"] for v in td.get("volumes") or [] if v.get("dockerVolumeConfiguration")}
        self.defs = {c["name"]: c for c in td["containerDefinitions"]}
        self.running: dict[str, Any] = {}

    def _mounts(self, c: dict[str, Any]) -> list[docker.types.Mount]:
        uses = [(mp, False) for mp in c.get("mountPoints") or []]
        for vf in c.get("volumesFrom") or []:
            uses += [(mp, bool(vf.get("readOnly"))) for mp in self.defs[vf["sourceContainer"]].get("mountPoints") or []]
        return [
            docker.types.Mount(
                mp["containerPath"],
                self.volumes[mp["sourceVolume"]],
                type="volume",
                read_only=ro or bool(mp.get("readOnly")),
                no_copy=mp["sourceVolume"] not in self.copying,
            )
            for mp, ro in uses
        ]

    def start(self, name: str) -> Any:
        c = self.defs[name]
        tmpfs = {
            t["containerPath"]: ",".join([*t.get("mountOptions", []), f"size={t['size']}m"])
            for t in (c.get("linuxParameters") or {}).get("tmpfs") or []
        }
        kw: dict[str, Any] = {
            "image": c["image"],
            "detach": True,
            "read_only": bool(c.get("readonlyRootFilesystem")),
            **self._network(name),
            "labels": self.label,
            "tmpfs": tmpfs,
            "mounts": self._mounts(c),
        }
        if c.get("command"):
            kw["command"] = c["command"]
        if c.get("environment"):
            kw["environment"] = [f"{e['name']}={e['value']}" for e in c["environment"]]
        if c.get("user"):
            kw["user"] = c["user"]
        caps = (c.get("linuxParameters") or {}).get("capabilities") or {}
        if caps.get("drop"):
            kw["cap_drop"] = caps["drop"]
        if caps.get("add"):
            kw["cap_add"] = caps["add"]
        if c.get("privileged"):
            kw["privileged"] = True
        if c.get("dockerSecurityOptions"):
            kw["security_opt"] = list(c["dockerSecurityOptions"])
        hc = c.get("healthCheck")
        if hc:
            kw["healthcheck"] = {
                "test": hc["command"],
                "interval": int(hc.get("interval", 30)) * NS,
                "retries": 3,
                "timeout": int(hc.get("timeout", 5)) * NS,
                "start_period": int(hc.get("startPeriod", 0)) * NS,
            }
        self.running[name] = self.client.containers.run(**kw)
        return self.running[name]

    def _network(self, name: str) -> dict[str, Any]:
        if self.network is None:
            return {"network_mode": f"container:{self.holder.id}"}
        aliases = [
            link.partition(":")[2] or link
            for c in self.defs.values()
            for link in c.get("links") or []
            if link.partition(":")[0] == name
        ]
        config = {self.network.name: self.client.api.create_endpoint_config(aliases=aliases)}
        own = {s["namespace"]: s["value"] for s in self.defs[name].get("systemControls") or []}
        return {
            "network": self.network.name,
            "networking_config": config,
            "sysctls": {"net.ipv4.ip_unprivileged_port_start": "1024", **own},
        }

    def up(self) -> None:
        """Every container in dependsOn order, each HEALTHY dependency waited for."""
        done: list[str] = []
        while len(done) < len(self.defs):
            name = next(
                n
                for n, c in self.defs.items()
                if n not in done and all(d["containerName"] in done for d in c.get("dependsOn") or [])
            )
            for dep in self.defs[name].get("dependsOn") or []:
                if dep.get("condition") == "HEALTHY":
                    wait_healthy(self.running[dep["containerName"]])
                elif dep.get("condition") in ("COMPLETE", "SUCCESS"):
                    code = self.running[dep["containerName"]].wait(timeout=120)["StatusCode"]
                    assert code == 0 or dep["condition"] == "COMPLETE", f"{dep['containerName']} exited {code}"
            self.start(name)
            done.append(name)
        for name, ctr in self.running.items():
            ctr.reload()
            if ctr.attrs["State"]["Status"] == "exited" and not self.defs[name].get("essential", True):
                continue  # a non-essential one-shot container: its end does not stop the task
            if self.defs[name].get("healthCheck") or ctr.attrs["State"].get("Health"):  # the image's too
                wait_healthy(ctr)

    def down(self) -> dict[str, int]:
        """Stop in reverse order (SIGTERM, then SIGKILL after 10 s): each container's exit code."""
        codes = {}
        for name in reversed(list(self.running)):
            ctr = self.running[name]
            ctr.stop(timeout=10)
            codes[name] = ctr.wait(timeout=30)["StatusCode"]
        return codes

    def remove(self) -> None:
        for ctr in [*self.running.values(), self.holder]:
            ctr.remove(force=True, v=True)
        if self.network is not None:
            self.network.remove()
        for v in self.volumes.values():
            self.client.volumes.get(v).remove(force=True)
