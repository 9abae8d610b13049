"""The least privilege a probe verified (``--harden``), written in ECS's terms: ``user``,
``linuxParameters.capabilities`` (``drop: [ALL]`` and what is added back, Fargate included; Fargate adds
back only ``SYS_PTRACE``), ``privileged`` removed, ``dockerSecurityOptions`` (EC2), and ``systemControls``
for ``net.ipv4.ip_unprivileged_port_start`` as each network mode allows it. The task definition comes in
as the platform's patch made it (a copy) and is changed in place."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from ecs5probe.core.harden import DEFAULT_CAPS
from ecs5probe.model import Privilege

PORT_START = "net.ipv4.ip_unprivileged_port_start"
#: What Fargate lets a task definition add back (capabilities.add); dropping is always allowed.
FARGATE_ADDS = frozenset({"SYS_PTRACE"})


def harden(td: Mapping[str, Any], privileges: Mapping[str, Privilege], fargate: bool) -> list[str]:
    """Write each container's privilege into ``td``; the notes (what each setting allows, what cannot be)."""
    notes: list[str] = []
    mode = "awsvpc" if fargate else str(td.get("networkMode") or "bridge")
    wanted = {
        str(c.get("name")): int(v)
        for c in td.get("containerDefinitions") or []
        if c.get("name") in privileges
        for k, v in privileges[c["name"]].sysctls
        if k == PORT_START
    }
    # awsvpc: one network namespace for the task, whose last-started container's systemControls win:
    # every container that needs the setting gets the same, lowest, value.
    task_port = min(wanted.values()) if wanted and mode == "awsvpc" else None
    for c in td.get("containerDefinitions") or []:
        name = c.get("name")
        if name in privileges:
            port = task_port if task_port is not None else wanted.get(str(name))
            _container(c, privileges[name], fargate, mode, port, notes)
    return notes


def _container(
    c: MutableMapping[str, Any], p: Privilege, fargate: bool, mode: str, port: int | None, notes: list[str]
) -> None:
    name = c.get("name", "?")
    user_ok = True
    if port is not None:
        if mode == "host":
            user_ok = False
            notes.append(
                f"{name}: cannot run as {p.user or 'its user'}: it binds port {port}, which needs {PORT_START}={port}, "
                "and the host network mode takes no network systemControls: user not written"
            )
        else:
            controls = [s for s in c.get("systemControls") or [] if s.get("namespace") != PORT_START]
            c["systemControls"] = [*controls, {"namespace": PORT_START, "value": str(port)}]
            scope = "every container of the task (awsvpc: one network namespace)" if mode == "awsvpc" else name
            notes.append(
                f"{name}: systemControls {PORT_START}={port}: lets processes without root in {scope} bind "
                f"ports {port} and above (the kernel's default is 1024); it binds port {port} as non-root"
            )
    if p.user is not None and user_ok:
        c["user"] = p.user
    _capabilities(c, p, fargate, notes)
    for reason in p.cannot:
        notes.append(f"{name}: {reason}")


def _capabilities(c: MutableMapping[str, Any], p: Privilege, fargate: bool, notes: list[str]) -> None:
    name = c.get("name", "?")
    beyond = [x for x in p.cap_add if x not in FARGATE_ADDS and x not in DEFAULT_CAPS]
    if fargate and beyond:
        notes.append(
            f"{name}: needs {', '.join(beyond)}, which Fargate cannot add (Fargate adds back only SYS_PTRACE): "
            "capabilities left as they were"
        )
        return
    lp = c.setdefault("linuxParameters", {})
    if p.cap_drop == ("ALL",):
        lp["capabilities"] = _fargate(p.cap_add) if fargate else _drop_all(p.cap_add)
        if c.pop("privileged", None):
            notes.append(f"{name}: privileged removed: it needs only {', '.join(p.cap_add) or 'no capability'}")
        if not fargate:
            opts = c.setdefault("dockerSecurityOptions", [])
            if "no-new-privileges" not in opts:
                opts.append("no-new-privileges")
    elif p.cap_add and not c.get("privileged"):  # not asked to cut them: what it was refused is added
        caps = lp.setdefault("capabilities", {})
        caps["add"] = list(dict.fromkeys([*(caps.get("add") or []), *p.cap_add]))
        notes.append(f"{name}: capabilities {', '.join(p.cap_add)} added: {_why(p)}")
    if not lp:
        c.pop("linuxParameters", None)


def _drop_all(add: tuple[str, ...]) -> dict[str, list[str]]:
    return {"drop": ["ALL"], **({"add": list(add)} if add else {})}


def _fargate(add: tuple[str, ...]) -> dict[str, list[str]]:
    """Fargate adds back only SYS_PTRACE: nothing added is ``drop: [ALL]``; a few of the defaults kept
    are the other defaults dropped (and SYS_PTRACE added, where it is needed)."""
    kept = [x for x in add if x in DEFAULT_CAPS]
    if not kept:
        return _drop_all(add)
    return {
        "drop": [x for x in DEFAULT_CAPS if x not in kept],
        **({"add": ["SYS_PTRACE"]} if "SYS_PTRACE" in add else {}),
    }


def _why(p: Privilege) -> str:
    return "; ".join(f"{cap}: {line[:120]}" for cap, line in p.evidence) or "its runs were refused without them"
