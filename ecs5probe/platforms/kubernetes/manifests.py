"""Kubernetes manifests: the workloads in a YAML stream, their pod specs, and CKV_K8S_22's verdicts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind
from ecs5probe.platforms import yamlio
from ecs5probe.platforms.interface import Document, Outcome, Verdict, flag_verdict

PASSED, FAILED, NOT_APPLICABLE = Outcome.PASSED, Outcome.FAILED, Outcome.NOT_APPLICABLE

#: Where each workload kind keeps its pod spec.
POD_SPEC: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers")  # the ones CKV_K8S_22 checks
_MANIFEST = re.compile(r"^apiVersion:\s*\S+", re.M)
_KIND = re.compile(r"^kind:\s*\S+", re.M)


def claims(text: str) -> bool:
    """A Kubernetes manifest: top-level ``apiVersion`` and ``kind``."""
    return bool(_MANIFEST.search(text) and _KIND.search(text))


def pod_spec(workload: Mapping[str, Any]) -> Any:
    """The pod spec of a workload (None for kinds that run no containers)."""
    node: Any = workload
    for key in POD_SPEC.get(str(workload.get("kind")), ()):
        node = node.get(key) if isinstance(node, Mapping) else None
    return node if isinstance(node, Mapping) and workload.get("kind") in POD_SPEC else None


def containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """(list name, container) for initContainers then containers."""
    for key in CONTAINER_LISTS:
        items = spec.get(key) or []
        if not isinstance(items, list):
            raise TaskDefinitionError(f"{key} is not a list")
        for c in items:
            if not isinstance(c, Mapping):
                raise TaskDefinitionError(f"{key} holds something that is not a container")
            yield key, c


def name_of(workload: Mapping[str, Any]) -> str:
    meta = workload.get("metadata") or {}
    ns = meta.get("namespace") if isinstance(meta, Mapping) else None
    name = meta.get("name", "?") if isinstance(meta, Mapping) else "?"
    return f"{workload.get('kind')}/{ns + '/' if ns else ''}{name}"


def read(path: Path, text: str, strict: bool) -> Iterator[Document]:
    """One Document per workload (``kind: List`` items too), in file order; ``stream`` locates it."""
    docs = yamlio.load_all(path, text)
    found = 0
    for top, doc in enumerate(docs):
        if not isinstance(doc, dict):
            continue
        items: list[tuple[int | None, Any]] = [(None, doc)]
        if doc.get("kind") == "List" or str(doc.get("kind", "")).endswith("List"):
            items = [(i, item) for i, item in enumerate(doc.get("items") or []) if isinstance(item, Mapping)]
        for item_index, workload in items:
            if not isinstance(workload, dict) or pod_spec(workload) is None:
                continue
            found += 1
            yield Document(
                file=str(path),
                line=yamlio.line_of(workload),
                name=name_of(workload),
                kind="kubernetes",
                body=workload,
                platform="kubernetes",
                index=found - 1,
                stream=(docs, top, item_index),
            )
    if not found and strict:
        raise TaskDefinitionError(f"{path}: no workload with containers found (Pod, Deployment, Job...)")


def evaluate(workload: Mapping[str, Any]) -> list[Verdict]:
    """CKV_K8S_22: every container and initContainer needs securityContext.readOnlyRootFilesystem true.

    Unlike Checkov, a string such as ``"true"`` fails (the API server refuses it for a boolean), and a
    Windows pod (``spec.os.name: windows``) is not applicable: Windows containers have no such flag.
    """
    spec = pod_spec(workload)
    if spec is None:
        return []
    windows = str((spec.get("os") or {}).get("name", "")).lower() == "windows"
    out = []
    for key, c in containers(spec):
        name = str(c.get("name", "?"))
        kind = ContainerKind.INIT if key == "initContainers" else ContainerKind.CONTAINER
        sc = c.get("securityContext") or {}
        ro = sc.get("readOnlyRootFilesystem") if isinstance(sc, Mapping) else None
        if windows:
            out.append(Verdict(name, NOT_APPLICABLE, "Windows pod: readOnlyRootFilesystem does not apply", kind))
        else:
            out.append(flag_verdict(name, ro, "securityContext.readOnlyRootFilesystem", kind))
    return out
