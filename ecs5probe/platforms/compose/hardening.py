"""The least privilege a probe verified (``--harden``), written in Compose's terms: a service's
``user``, ``cap_drop``/``cap_add``, ``security_opt``, ``privileged`` removed, and ``sysctls`` where the
answer needs a kernel parameter. Changed in place."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ecs5probe.model import Privilege


def harden(name: str, s: MutableMapping[str, Any], p: Privilege, notes: list[str]) -> None:
    """Write ``p`` into service ``name``; the notes."""
    if p.user is not None:  # quoted: YAML 1.1 (docker-compose 1.x) reads 33:33 as a base-60 number
        s["user"] = DoubleQuotedScalarString(p.user)
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
    elif p.cap_add and not s.get("privileged"):  # not asked to cut them: what it was refused is added
        s["cap_add"] = list(dict.fromkeys([*(s.get("cap_add") or []), *p.cap_add]))
        notes.append(f"{name}: cap_add {', '.join(p.cap_add)}: its runs were refused without them")
    if p.sysctls:
        current = s.get("sysctls")
        if isinstance(current, list):  # the list form: "name=value"
            keep = [x for x in current if str(x).split("=", 1)[0] not in dict(p.sysctls)]
            s["sysctls"] = [*keep, *(f"{k}={v}" for k, v in p.sysctls)]
        else:
            s["sysctls"] = {**dict(current or {}), **dict(p.sysctls)}
        for k, v in p.sysctls:
            allows = (
                f": lets processes without root bind ports {v} and above"
                if k.endswith("unprivileged_port_start")
                else ""
            )
            notes.append(f"{name}: sysctls {k}={v}{allows}")
    for reason in p.cannot:
        notes.append(f"{name}: {reason}")
