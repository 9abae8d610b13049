"""The container ports a document names, for smoke tests from this machine: an ECS container's
``portMappings``, a pod container's ``ports``, a Compose service's ``ports`` (TCP; the container's side).
Pure: a container's mapping in, port numbers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ecs_ports(container: Mapping[str, Any]) -> tuple[int, ...]:
    """``portMappings[].containerPort`` (TCP)."""
    return _tcp(
        (p.get("containerPort"), p.get("protocol", "tcp"))
        for p in container.get("portMappings") or []
        if isinstance(p, Mapping)
    )


def pod_ports(container: Mapping[str, Any]) -> tuple[int, ...]:
    """``ports[].containerPort`` (TCP)."""
    return _tcp(
        (p.get("containerPort"), p.get("protocol", "TCP"))
        for p in container.get("ports") or []
        if isinstance(p, Mapping)
    )


def compose_ports(service: Mapping[str, Any]) -> tuple[int, ...]:
    """A service's ``ports``: short (``"8080:80"``, ``"127.0.0.1:8080:80/tcp"``, ``80``, a range
    ``"9000-9001"``) or long (``{target: 80, protocol: tcp}``) syntax; the container's side."""
    found: list[tuple[Any, Any]] = []
    for p in service.get("ports") or []:
        if isinstance(p, Mapping):
            found.append((p.get("target"), p.get("protocol", "tcp")))
            continue
        text, _, proto = str(p).partition("/")
        target = text.rsplit(":", 1)[-1]
        low, _, high = target.partition("-")
        if low.isdigit() and high.isdigit():
            found += [(n, proto or "tcp") for n in range(int(low), int(high) + 1)]
        else:
            found.append((target, proto or "tcp"))
    return _tcp(found)


def _tcp(pairs: Any) -> tuple[int, ...]:
    out: list[int] = []
    for port, proto in pairs:
        if str(proto).lower() != "tcp":
            continue
        try:
            n = int(port)
        except (TypeError, ValueError):
            continue  # a named port or an expression: nothing to publish
        if 0 < n < 65536 and n not in out:
            out.append(n)
    return tuple(out)


def host_variable(member: str) -> str:
    """``ECS5PROBE_HOST_WEB`` for a container or service named ``web`` (``log-router``: ``LOG_ROUTER``)."""
    return "ECS5PROBE_HOST_" + "".join(ch if ch.isalnum() else "_" for ch in member.upper())
