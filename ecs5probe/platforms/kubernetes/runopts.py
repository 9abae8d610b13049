"""How Kubernetes would run each container: ProbeOptions fields from the pod spec and the container."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ecs5probe.core.deployment import Member
from ecs5probe.core.options import ContainerSettings
from ecs5probe.core.publish import pod_ports
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import HTTP_GET, TCP_SOCKET, ContainerKind, HealthSpec
from ecs5probe.platforms.kubernetes.manifests import containers

_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "m": 10**-3,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(?:e([0-9]+))?([kMGT]i?|m|Ki)?$")
_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def quantity_bytes(value: Any) -> int:
    """A Kubernetes quantity (``512Mi``, ``1G``, ``1e9``, ``1500000``) in bytes."""
    m = _QUANTITY.match(str(value).strip())
    if not m:
        raise TaskDefinitionError(f"not a Kubernetes quantity: {value!r}")
    number = float(m.group(1)) * (10 ** int(m.group(2)) if m.group(2) else 1)
    return int(number * _UNITS[m.group(3) or ""])


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion in command, args and env values ($$ escapes; unknown names stay)."""
    return _VAR.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def _env(c: Mapping[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for e in c.get("env") or []:
        if isinstance(e, Mapping) and "name" in e and "valueFrom" not in e:
            env[str(e["name"])] = expand(str(e.get("value", "")), env)
    return env


def _port(c: Mapping[str, Any], port: Any) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or str(port).isdigit():
        return int(port)
    for p in c.get("ports") or []:
        if isinstance(p, Mapping) and p.get("name") == port:
            return int(p["containerPort"])
    raise TaskDefinitionError(f"{c.get('name')}: probe port {port!r} names no port of the container")


def health(c: Mapping[str, Any], env: Mapping[str, str]) -> HealthSpec | None:
    """The readiness probe (else startup, else liveness) as a health check. exec runs in the container;
    httpGet and tcpSocket are checked from the pod's network namespace by the runtime."""
    for key in ("readinessProbe", "startupProbe", "livenessProbe"):
        probe = c.get(key)
        if not isinstance(probe, Mapping):
            continue
        timing: dict[str, Any] = {
            "interval": float(probe.get("periodSeconds", 10)),
            "timeout": float(probe.get("timeoutSeconds", 1)),
            "retries": int(probe.get("failureThreshold", 3)),
            "start_period": float(probe.get("initialDelaySeconds", 0)),
        }
        if isinstance(probe.get("exec"), Mapping):
            command = [expand(str(a), env) for a in probe["exec"].get("command") or []]
            return HealthSpec(test=("CMD", *command), **timing)
        if isinstance(probe.get("httpGet"), Mapping):
            h = probe["httpGet"]
            scheme = str(h.get("scheme", "HTTP")).lower()
            path = str(h.get("path", "/"))
            url = f"{scheme}://127.0.0.1:{_port(c, h.get('port'))}{path if path.startswith('/') else '/' + path}"
            headers = [f"{x['name']}: {x['value']}" for x in h.get("httpHeaders") or [] if isinstance(x, Mapping)]
            return HealthSpec(test=(HTTP_GET, url, *headers), **timing)
        if isinstance(probe.get("tcpSocket"), Mapping):
            return HealthSpec(test=(TCP_SOCKET, str(_port(c, probe["tcpSocket"].get("port")))), **timing)
    return None


def _user(spec: Mapping[str, Any], c: Mapping[str, Any]) -> str | None:
    psc, sc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    uid = sc.get("runAsUser", psc.get("runAsUser"))
    gid = sc.get("runAsGroup", psc.get("runAsGroup"))
    if uid is None:
        return None  # runAsGroup alone keeps the image's user: not expressible as one --user
    return f"{int(uid)}:{int(gid)}" if gid is not None else str(int(uid))


def probe_overrides(spec: Mapping[str, Any], key: str, c: Mapping[str, Any]) -> dict[str, Any]:
    """ProbeOptions fields for one container of a pod spec (``key``: containers or initContainers)."""
    env = _env(c)
    out: dict[str, Any] = {}
    if c.get("command") is not None:
        out["entrypoint"] = tuple(expand(str(a), env) for a in c["command"])
    if c.get("args") is not None:
        out["command"] = tuple(expand(str(a), env) for a in c["args"])
    if env:
        out["environment"] = tuple(f"{k}={v}" for k, v in env.items())
    if c.get("workingDir"):
        out["workdir"] = str(c["workingDir"])
    user = _user(spec, c)
    if user is not None:
        out["user"] = user
    if key == "initContainers" and c.get("restartPolicy") != "Always":
        out["job"] = True  # runs to completion; a native sidecar (restartPolicy: Always) keeps running
    else:
        hc = health(c, env)
        if hc is not None:
            out["health"] = hc
    psc, sc = spec.get("securityContext") or {}, c.get("securityContext") or {}
    run: dict[str, Any] = {}
    groups = [str(int(g)) for g in psc.get("supplementalGroups") or []]
    if psc.get("fsGroup") is not None:
        groups.append(str(int(psc["fsGroup"])))
        out["storage"] = (("fsGroup", str(int(psc["fsGroup"]))),)
    if groups:
        run["group_add"] = list(dict.fromkeys(groups))
    caps = sc.get("capabilities") or {}
    if caps.get("add"):
        run["cap_add"] = [str(x) for x in caps["add"]]
    if caps.get("drop"):
        run["cap_drop"] = [str(x) for x in caps["drop"]]
    memory = ((c.get("resources") or {}).get("limits") or {}).get("memory")
    if memory is not None:
        run["mem_limit"] = f"{max(quantity_bytes(memory) // 2**20, 6)}m"
    sysctls = {str(s["name"]): str(s.get("value", "")) for s in psc.get("sysctls") or [] if "name" in s}
    if sysctls:  # the pod's own (its ip_unprivileged_port_start wins over containerd's 1024)
        run["sysctls"] = sysctls
    if run:
        out["docker_options"] = tuple(sorted(run.items()))
    if pod_ports(c):
        out["publish"] = pod_ports(c)  # reached by smoke tests
    return out


def pod_containers(spec: Mapping[str, Any]) -> list[Member]:
    """Each container of the pod with its image and how Kubernetes runs it (its place in the pod aside)."""
    out = []
    for key, c in containers(spec):
        name, image = c.get("name"), c.get("image")
        if not name or not image:
            raise TaskDefinitionError("every container needs a name and an image")
        kind = ContainerKind.INIT if key == "initContainers" else ContainerKind.CONTAINER
        out.append(Member(str(name), str(image), ContainerSettings(**probe_overrides(spec, key, c)), kind))
    return out
