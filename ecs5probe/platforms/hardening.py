"""The least privilege a probe verified (``--harden non-root,capabilities``), written in each platform's
terms: ECS ``user``, ``linuxParameters.capabilities``, ``privileged`` removed (Fargate adds back only
SYS_PTRACE, so there the same set is written as the default capabilities it drops); a Kubernetes
container's ``securityContext``; a Compose service's ``user``, ``cap_drop``/``cap_add``, ``security_opt``.
Documents come in as the platform's patch made them (copies), and are changed in place."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ecs5probe.core.harden import DEFAULT_CAPS
from ecs5probe.model import Privilege


def ecs_container(c: MutableMapping[str, Any], p: Privilege, fargate: bool, notes: list[str]) -> None:
    name = c.get("name", "?")
    if p.user is not None:
        c["user"] = p.user
    if p.cap_drop == ("ALL",):
        lp = c.setdefault("linuxParameters", {})
        if fargate:  # Fargate: add only SYS_PTRACE; the same minimal set, as the defaults it drops
            lp["capabilities"] = {"drop": [x for x in DEFAULT_CAPS if x not in p.cap_add]}
        else:
            lp["capabilities"] = {"drop": ["ALL"], **({"add": list(p.cap_add)} if p.cap_add else {})}
        if c.pop("privileged", None):
            notes.append(f"{name}: privileged removed: it needs only {', '.join(p.cap_add) or 'no capability'}")
        if not fargate:
            opts = c.setdefault("dockerSecurityOptions", [])
            if "no-new-privileges" not in opts:
                opts.append("no-new-privileges")
    for reason in p.cannot:
        notes.append(f"{name}: {reason}")


def kubernetes_container(c: MutableMapping[str, Any], p: Privilege, notes: list[str]) -> None:
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
    for reason in p.cannot:
        notes.append(f"{c.get('name')}: {reason}")


def compose_service(name: str, s: MutableMapping[str, Any], p: Privilege, notes: list[str]) -> None:
    if p.user is not None:
        s["user"] = p.user
    if p.cap_drop == ("ALL",):
        s["cap_drop"] = ["ALL"]
        if p.cap_add:
            s["cap_add"] = list(p.cap_add)
        else:
            s.pop("cap_add", None)
        s.pop("privileged", None)
        opts = s.get("security_opt") or []
        if not any(str(o).startswith("no-new-privileges") for o in opts):
            s["security_opt"] = [*opts, "no-new-privileges:true"]
    for reason in p.cannot:
        notes.append(f"{name}: {reason}")


def privileges_of(results: Mapping[str, Any]) -> dict[str, Privilege]:
    """Container name -> its verified privilege (from each container's probe result)."""
    return {n: r.privilege for n, r in results.items() if getattr(r, "privilege", None) is not None}
