"""Patch a workload: readOnlyRootFilesystem on every container, emptyDir volumes and their mounts, and an
initContainer that copies the image's files where the app needs them at a writable path."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ecs5probe.core.paths import normalise
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import Mount
from ecs5probe.platforms.interface import already_covered
from ecs5probe.platforms.kubernetes.manifests import containers, pod_spec

COPY_ROOT = "/ecs5probe-copy"


def volume_name(container: str, path: str) -> str:
    """A DNS-1123 label (at most 63 characters), stable for one container and path."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{container}-{path}".lower()).strip("-") or "root"
    if len(slug) <= 63:
        return slug
    digest = hashlib.sha256(slug.encode()).hexdigest()[:8]
    return f"{slug[:54].rstrip('-')}-{digest}"


def empty_dir(m: Mount) -> dict[str, Any]:
    """Small writes go to memory (tmpfs, counted against the container's memory limit); large to disk."""
    if m.kind == "tmpfs":
        return {"medium": "Memory", "sizeLimit": f"{m.size_mib}Mi"}
    return {}


def copy_container(c: Mapping[str, Any], copies: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """An initContainer of the same image that copies the image's files into each emptyDir (as Bitnami
    charts do): the app then finds at its writable path what the image shipped there."""
    if len(copies) == 1:
        command = ["cp", "-a", f"{copies[0][1]}/.", f"{COPY_ROOT}/{copies[0][0]}/"]
    else:
        command = ["sh", "-c", " && ".join(f'cp -a "{path}/." "{COPY_ROOT}/{vol}/"' for vol, path in copies)]
    init: dict[str, Any] = {
        "name": volume_name(str(c.get("name")), "copy"),
        "image": c.get("image"),
        "command": command,
    }
    sc = copy.deepcopy(dict(c.get("securityContext") or {}))
    sc["readOnlyRootFilesystem"] = True
    init["securityContext"] = sc
    init["volumeMounts"] = [{"name": vol, "mountPath": f"{COPY_ROOT}/{vol}"} for vol, _ in copies]
    return init


def patch_spec(spec: Any, mounts: Mapping[str, Sequence[Mount]], notes: list[str]) -> None:
    """Patch one pod spec in place (a round-trip node: comments and key order stay)."""
    volumes = spec.get("volumes")
    if volumes is None:
        volumes = spec["volumes"] = []
    taken = {str(v.get("name")) for v in volumes}
    inits: list[dict[str, Any]] = []
    for _, c in list(containers(spec)):
        name = str(c.get("name"))
        sc = c.get("securityContext")
        if sc is None:
            sc = c["securityContext"] = {}
        sc["readOnlyRootFilesystem"] = True
        # the pod's own mounts, before ours: a nested mount of ours (/run/lock under /run) is no cover
        have = [(normalise(str(v.get("mountPath", ""))), bool(v.get("readOnly"))) for v in c.get("volumeMounts") or []]
        copies: list[tuple[str, str]] = []
        memory = 0  # MiB of medium: Memory emptyDirs added
        for m in mounts.get(name, ()):
            if not m.required:
                continue
            if already_covered(have, m, name, "the pod's", notes):
                continue
            vol = volume_name(name, m.container_path)
            base, n = vol, 2
            while vol in taken:
                vol, n = f"{base[:60]}-{n}", n + 1
            taken.add(vol)
            volumes.append({"name": vol, "emptyDir": empty_dir(m)})
            memory += m.size_mib if m.kind == "tmpfs" else 0
            if c.get("volumeMounts") is None:
                c["volumeMounts"] = []
            c["volumeMounts"].append({"name": vol, "mountPath": m.container_path})
            if m.kind == "volume":
                copies.append((vol, m.container_path))
        if memory:
            notes.append(
                f"{name}: emptyDir medium: Memory counts against the container's memory limit "
                f"(up to {memory} MiB here, the sizeLimits)"
            )
        if copies:
            inits.append(copy_container(c, copies))
            notes.append(
                f"{name}: the image ships files at {', '.join(p for _, p in copies)} that the app needs writable; "
                "an initContainer copies them into the emptyDir (it needs cp in the image)"
            )
    if inits:
        if spec.get("initContainers") is None:
            spec["initContainers"] = []
        spec["initContainers"][:0] = inits
    if not volumes:
        del spec["volumes"]


def patch(workload: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]]) -> tuple[Any, list[str]]:
    """A patched copy of the workload (the original is untouched) and notes."""
    out = copy.deepcopy(workload)
    spec = pod_spec(out)
    if spec is None:
        raise TaskDefinitionError(f"{workload.get('kind')}: not a workload with containers")
    notes: list[str] = []
    patch_spec(spec, mounts, notes)
    return out, list(dict.fromkeys(notes))


def strategic_patch(mounts: Sequence[Mount], container: str, image: str) -> dict[str, Any]:
    """A strategic-merge patch for a Deployment-like workload: the container's flag and mounts, the volumes
    (and the copying initContainer, of ``image``)."""
    spec: dict[str, Any] = {"containers": [{"name": container, "image": image}]}
    patch_spec(spec, {container: mounts}, [])
    del spec["containers"][0]["image"]  # the patch merges by name; the image stays the workload's
    return {"spec": {"template": {"spec": spec}}}
