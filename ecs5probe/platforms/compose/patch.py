"""Patch a Compose file: ``read_only: true`` and the writable storage each service needs, as the whole
file or as an override file that Compose merges on top of it."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ecs5probe.core.paths import normalise
from ecs5probe.model import Mount
from ecs5probe.platforms.compose.project import services
from ecs5probe.platforms.interface import already_covered


def volume_name(service: str, path: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", path.lower()).strip("-.") or "root"
    return f"{re.sub(r'[^a-z0-9_.-]+', '-', service.lower()).strip('-.') or 'service'}-{slug}"


def tmpfs_entry(m: Mount) -> str:
    """Compose's short form, options passed to Docker's --tmpfs: ``/run:uid=100,mode=0755,size=64m``."""
    opts = [o for o in m.mount_options if not o.startswith("size=")]
    return f"{m.container_path}:{','.join([*opts, f'size={m.size_mib}m'])}"


def _targets(s: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """(container path, read-only) of the service's own tmpfs and volumes."""
    out: list[tuple[str, bool]] = []
    tmpfs = s.get("tmpfs") or []
    for t in [tmpfs] if isinstance(tmpfs, str) else tmpfs:
        out.append((normalise(str(t).split(":")[0]), False))
    for v in s.get("volumes") or []:
        if isinstance(v, Mapping):
            out.append((normalise(str(v.get("target", ""))), bool(v.get("read_only", False))))
        else:
            parts = str(v).split(":")
            target = parts[1] if len(parts) > 1 else parts[0]
            out.append((normalise(target), len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def patch_service(name: str, s: Any, mounts: Sequence[Mount], top_volumes: dict[str, Any], notes: list[str]) -> None:
    """Patch one service in place."""
    s["read_only"] = True
    have = _targets(s)
    for m in mounts:
        if not m.required:
            continue
        if already_covered(have, m, name, "the service's", notes):
            continue
        if m.kind == "tmpfs":
            entry: Any = tmpfs_entry(m)
            key = "tmpfs"
        else:
            vol = volume_name(name, m.container_path)
            top_volumes[vol] = None
            key = "volumes"
            entry = f"{vol}:{m.container_path}"  # a named volume: Compose copies the image's files in
            if m.kind == "bind":  # empty storage: no copy
                entry = {"type": "volume", "source": vol, "target": m.container_path, "volume": {"nocopy": True}}
        current = s.get(key)
        if isinstance(current, str):
            current = s[key] = [current]
        elif current is None:
            current = s[key] = []
        current.append(entry)


def patch(doc: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]]) -> tuple[Any, list[str]]:
    """The patched file (a copy; the original is untouched) and notes."""
    out: Any = copy.deepcopy(doc)
    notes: list[str] = []
    new_volumes: dict[str, Any] = {}
    for name, s in services(out).items():
        patch_service(str(name), s, mounts.get(str(name), ()), new_volumes, notes)
    if new_volumes:
        if out.get("volumes") is None:
            out["volumes"] = {}
        for vol in new_volumes:
            out["volumes"].setdefault(vol, None)
    return out, list(dict.fromkeys(notes))


def override(original: Mapping[str, Any], patched: Mapping[str, Any]) -> dict[str, Any]:
    """The override file that turns ``original`` into ``patched`` when Compose merges the two:
    ``read_only`` and the added tmpfs entries and volumes of each service, and the new named volumes."""
    before = services(original)
    out: dict[str, Any] = {"version": original["version"]} if "version" in original else {}
    out["services"] = {}
    for name, s in services(patched).items():
        old = before.get(name) or {}
        added: dict[str, Any] = {"read_only": s.get("read_only")}
        for key in ("tmpfs", "volumes"):
            had = old.get(key) or []
            had = [had] if isinstance(had, str) else list(had)
            new = [copy.deepcopy(e) for e in (s.get(key) or []) if e not in had]
            if new:
                added[key] = new
        out["services"][name] = added
    top = {k: v for k, v in (patched.get("volumes") or {}).items() if k not in (original.get("volumes") or {})}
    if top:
        out["volumes"] = top
    return out


def merge_override(existing: dict[str, Any], made: Mapping[str, Any]) -> dict[str, Any]:
    """``existing`` (an override file's parse, its comments kept) with the override ``made`` merged in
    as Compose would merge the two: ``read_only`` set, tmpfs and volume entries added where missing."""
    out = existing
    if not isinstance(out.get("services"), dict):
        out["services"] = {}
    services_out = out["services"]
    for name, added in (made.get("services") or {}).items():
        svc = services_out.get(name)
        if not isinstance(svc, dict):
            svc = services_out[name] = {}
        for key, value in added.items():
            if key in ("tmpfs", "volumes"):
                had = svc.get(key) or []
                had = [had] if isinstance(had, str) else list(had)
                svc[key] = had + [copy.deepcopy(e) for e in value if e not in had]
            else:
                svc[key] = value
    for name, spec in (made.get("volumes") or {}).items():
        if not isinstance(out.get("volumes"), dict):
            out["volumes"] = {}
        out["volumes"].setdefault(name, spec)
    return out
