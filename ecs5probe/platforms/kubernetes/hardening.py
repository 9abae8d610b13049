"""The least privilege a probe verified (``--harden``), written in Kubernetes' terms: each container's
``securityContext`` (``runAsUser``/``runAsGroup``/``runAsNonRoot``, ``capabilities``, no privilege
escalation, ``seccompProfile: RuntimeDefault``, ``privileged`` removed), and the pod's
``securityContext.sysctls`` for ``net.ipv4.ip_unprivileged_port_start`` (a safe sysctl; one network
namespace per pod: the lowest value any container needs). Changed in place."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from ecs5probe.model import Privilege

PORT_START = "net.ipv4.ip_unprivileged_port_start"


def harden(
    pod: MutableMapping[str, Any], containers: Iterable[MutableMapping[str, Any]], privileges: Mapping[str, Privilege]
) -> list[str]:
    """Write each container's privilege into its ``securityContext`` and the pod's; the notes."""
    notes: list[str] = []
    ports: dict[str, int] = {}
    for c in containers:
        p = privileges.get(str(c.get("name")))
        if p is None:
            continue
        _container(c, p, notes)
        ports |= {str(c.get("name")): int(v) for k, v in p.sysctls if k == PORT_START}
    if ports:
        port = min(ports.values())
        sc = pod.get("securityContext")
        if sc is None:
            sc = pod["securityContext"] = {}
        sysctls = [s for s in sc.get("sysctls") or [] if s.get("name") != PORT_START]
        sc["sysctls"] = [*sysctls, {"name": PORT_START, "value": str(port)}]
        notes.append(
            f"{', '.join(ports)}: pod securityContext.sysctls {PORT_START}={port}: lets processes without root in "
            f"every container of the pod bind ports {port} and above (a safe sysctl; containerd 1.x and CRI-O "
            f"leave 1024); it binds port {port} as non-root"
        )
    return notes


def _container(c: MutableMapping[str, Any], p: Privilege, notes: list[str]) -> None:
    sc = c.get("securityContext")
    if sc is None:
        sc = c["securityContext"] = {}
    if p.user is not None:
        uid, _, gid = p.user.partition(":")
        sc["runAsUser"] = int(uid)
        sc["runAsGroup"] = int(gid or uid)
        sc["runAsNonRoot"] = True
    if p.cap_drop == ("ALL",):
        sc["allowPrivilegeEscalation"] = False
        sc["capabilities"] = {"drop": ["ALL"], **({"add": list(p.cap_add)} if p.cap_add else {})}
        sc.pop("privileged", None)
        sc["seccompProfile"] = {"type": "RuntimeDefault"}
        extra = [x for x in p.cap_add if x != "NET_BIND_SERVICE"]
        if extra:
            notes.append(
                f"{c.get('name')}: adds {', '.join(extra)}: the restricted profile allows only NET_BIND_SERVICE"
            )
    elif p.cap_add and not sc.get("privileged"):  # not asked to cut them: what it was refused is added
        caps = sc.setdefault("capabilities", {})
        caps["add"] = list(dict.fromkeys([*(caps.get("add") or []), *p.cap_add]))
        notes.append(f"{c.get('name')}: capabilities {', '.join(p.cap_add)} added: its runs were refused without them")
    for reason in p.cannot:
        notes.append(f"{c.get('name')}: {reason}")
