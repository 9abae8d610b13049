"""Kubernetes manifests: the workloads in a YAML stream, their pod specs, and CKV_K8S_22's verdicts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind, PlatformName
from ecs5probe.platforms import yamlio
from ecs5probe.platforms.interface import Document, Outcome, Verdict, flag_verdict

PASSED, FAILED, NOT_APPLICABLE = Outcome.PASSED, Outcome.FAILED, Outcome.NOT_APPLICABLE

#: Where the usual kinds keep their pod spec (tried first; any other object is searched by shape).
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
#: Where other kinds keep a pod template, by shape: Argo Rollout, OpenShift DeploymentConfig and Knative
#: Service at spec.template.spec, KEDA ScaledJob at spec.jobTargetRef.template.spec...
SHAPES: tuple[tuple[str, ...], ...] = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
    ("spec", "jobTargetRef", "template", "spec"),
    ("template", "spec"),
    ("spec",),
)
#: Kinds whose objects never run containers themselves (their schemas mention ``containers``).
NO_PODS = {"CustomResourceDefinition", "ConfigMap", "Secret"}
#: The keys of a pod spec beside its containers that a workflow template's pod takes from the workflow.
POD_LEVEL = ("securityContext", "nodeSelector", "affinity", "os", "volumes")
CONTAINER_LISTS = ("initContainers", "containers")  # the ones CKV_K8S_22 checks
WINDOWS_KEYS = ("kubernetes.io/os", "beta.kubernetes.io/os")
_MANIFEST = re.compile(r"^apiVersion:\s*\S+", re.M)
_KIND = re.compile(r"^kind:\s*\S+", re.M)


def claims(text: str) -> bool:
    """A Kubernetes manifest: top-level ``apiVersion`` and ``kind``."""
    return bool(_MANIFEST.search(text) and _KIND.search(text))


def _is_pod_spec(node: Any) -> bool:
    items = node.get("containers") if isinstance(node, Mapping) else None
    return isinstance(items, list) and bool(items) and all(isinstance(c, Mapping) for c in items)


def _at(node: Any, keys: tuple[str, ...]) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    return node


def _workflow_spec(workload: Mapping[str, Any]) -> Any:
    """An Argo Workflow's (or WorkflowTemplate's, or an Argo Rollouts Experiment's) spec, or a
    CronWorkflow's workflowSpec: one with a list of templates."""
    spec = workload.get("spec")
    if isinstance(spec, Mapping) and isinstance(spec.get("workflowSpec"), Mapping):
        spec = spec["workflowSpec"]
    return spec if isinstance(spec, Mapping) and isinstance(spec.get("templates"), list) else None


def _named(c: Mapping[str, Any], name: str) -> Any:
    """A copy of container ``c`` named ``name`` that keeps its place in the file (its line)."""
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap(c)
    out["name"] = name
    lc = getattr(c, "lc", None)
    if lc is not None and lc.line is not None:
        out._yaml_set_line_col(lc.line, lc.col)
    return out


def _workflow_pod(spec: Mapping[str, Any]) -> Any:
    """One pod spec for an Argo workflow's templates: each template's container, script or containerSet
    (named after its template), and the workflow's pod-level settings."""
    from ruamel.yaml.comments import CommentedMap

    out = CommentedMap((k, spec[k]) for k in POD_LEVEL if k in spec)
    found: list[Any] = []
    init: list[Any] = []
    for t in spec.get("templates") or []:
        if not isinstance(t, Mapping):
            continue
        tname = str(t.get("name", "?"))
        for key in ("container", "script"):
            if isinstance(t.get(key), Mapping):
                found.append(_named(t[key], tname))
        pod = _at(t, ("template", "spec"))  # an Argo Rollouts Experiment's templates[].template
        if _is_pod_spec(pod):
            for key, into in (("containers", found), ("initContainers", init)):
                for c in pod.get(key) or []:
                    if isinstance(c, Mapping):
                        into.append(_named(c, f"{tname}/{c.get('name', '?')}"))
        cs = t.get("containerSet")
        if isinstance(cs, Mapping):
            for c in cs.get("containers") or []:
                if isinstance(c, Mapping):
                    found.append(_named(c, f"{tname}/{c.get('name', '?')}"))
        for key, into in (("initContainers", init), ("sidecars", found)):
            for c in t.get(key) or []:
                if isinstance(c, Mapping):
                    into.append(_named(c, f"{tname}/{c.get('name', '?')}"))
    if not found and not init:
        return None
    out["containers"] = found
    if init:
        out["initContainers"] = init
    return out


def pod_spec(workload: Mapping[str, Any]) -> Any:
    """The pod spec of a workload, found by shape (None for objects that run no containers): the usual
    kinds' place first, then any pod template (``spec.template.spec``, a job template, KEDA's
    ``jobTargetRef``), then Argo workflows' templates."""
    kind = str(workload.get("kind", ""))
    if kind in NO_PODS:
        return None
    if kind in POD_SPEC:
        spec = _at(workload, POD_SPEC[kind])
        return spec if isinstance(spec, Mapping) else None
    for shape in SHAPES:
        spec = _at(workload, shape)
        if _is_pod_spec(spec):
            return spec
    wf = _workflow_spec(workload)
    if wf is not None:
        return _workflow_pod(wf)
    return _steps_pod(workload)


def _steps_pod(workload: Mapping[str, Any]) -> Any:
    """A Tekton Task's (or a TaskRun's ``taskSpec``) steps and sidecars, each a container of its pod."""
    from ruamel.yaml.comments import CommentedMap

    spec: Any = workload.get("spec")
    if isinstance(spec, Mapping) and isinstance(spec.get("taskSpec"), Mapping):
        spec = spec["taskSpec"]
    if not isinstance(spec, Mapping):
        return None
    steps = spec.get("steps")
    if not isinstance(steps, list) or not all(isinstance(c, Mapping) and "image" in c for c in steps):
        return None
    found = [_named(c, str(c.get("name", f"step-{i}"))) for i, c in enumerate(steps)]
    found += [_named(c, str(c.get("name", "sidecar"))) for c in spec.get("sidecars") or [] if isinstance(c, Mapping)]
    out = CommentedMap((k, spec[k]) for k in POD_LEVEL if k in spec)
    out["containers"] = found
    return out if found else None


def is_windows(spec: Mapping[str, Any]) -> bool:
    """A Windows pod: ``spec.os.name``, or scheduled only on Windows nodes by its node selector or its
    required node affinity (``kubernetes.io/os: windows``)."""
    os_ = spec.get("os")
    if isinstance(os_, Mapping) and str(os_.get("name", "")).lower() == "windows":
        return True
    selector = spec.get("nodeSelector")
    if isinstance(selector, Mapping) and any(str(selector.get(k, "")).lower() == "windows" for k in WINDOWS_KEYS):
        return True
    terms = _at(
        spec, ("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
    )
    if not isinstance(terms, list) or not terms:
        return False

    def windows_only(term: Any) -> bool:
        exprs = term.get("matchExpressions") if isinstance(term, Mapping) else None
        return isinstance(exprs, list) and any(
            isinstance(e, Mapping)
            and e.get("key") in WINDOWS_KEYS
            and e.get("operator") == "In"
            and [str(v).lower() for v in e.get("values") or []] == ["windows"]
            for e in exprs
        )

    return all(windows_only(t) for t in terms)  # terms are ORed: every one must require Windows


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
    found, strays = workloads(path, text, strict)
    if not found and strict:
        why = f": {strays[0][1]}" if strays else ""
        raise TaskDefinitionError(f"{path}: no workload with containers found (Pod, Deployment, Job...){why}")
    yield from found


def _mentions_containers(node: Any, depth: int = 0) -> bool:
    """Whether an object holds a list of containers anywhere (a pod template in a shape not known)."""
    if depth > 8 or not isinstance(node, Mapping):
        return False
    if _is_pod_spec(node):
        return True
    for k, v in node.items():
        if k in ("metadata", "status"):
            continue
        for item in v if isinstance(v, list) else [v]:
            if _mentions_containers(item, depth + 1):
                return True
    return False


def _key_line(node: Any, key: str) -> int | None:
    lc = getattr(node, "lc", None)
    try:
        return int(lc.key(key)[0]) + 1 if lc is not None and key in node else None
    except (KeyError, TypeError, AttributeError):
        return None


def locate(spec: Mapping[str, Any]) -> dict[str, int]:
    """The lines of a pod spec's containers and of the securityContext keys the controls read."""
    out: dict[str, int] = {}
    for _, c in containers(spec):
        name = str(c.get("name", "?"))
        line = yamlio.line_of(c)
        if line is None:
            continue
        out.setdefault(name, line)
        sc = c.get("securityContext")
        if isinstance(sc, Mapping):
            for key in sc:
                at = _key_line(sc, str(key))
                if at is not None:
                    out[f"{name}\tsecurityContext.{key}"] = at
    return out


_DOC_START = re.compile(r"^---(?=\s|$)", re.M)
_SKIPPED_KIND = re.compile(r"^kind:\s*[\"']?(CustomResourceDefinition|ConfigMap|Secret)[\"']?\s*$", re.M)


def _pods_only(text: str) -> list[Any]:
    """The documents of a stream that may run containers, each parsed alone at its own lines (a
    controller's install manifest is mostly CRD schemas: the round-trip parser is slow on them)."""
    starts = [0] + [m.start() for m in _DOC_START.finditer(text)]
    out: list[Any] = []
    for a, b in zip(starts, starts[1:] + [len(text)], strict=True):
        chunk = text[a:b]
        if "image" not in chunk or _SKIPPED_KIND.search(chunk):  # every container names its image
            continue
        pad = "\n" * text.count("\n", 0, a)  # the chunk's lines stay the file's lines
        out += yamlio.load_all("", pad + chunk)
    return out


def workloads(
    path: Path, text: str, strict: bool, fast: bool = False
) -> tuple[list[Document], list[tuple[int | None, str]]]:
    """The workloads of a YAML stream, and the objects that hold containers in a shape not read (their
    line and why). ``fast``: only the documents that may run containers are parsed (for ``scan``; the
    documents then have no ``stream`` to write back into)."""
    try:
        docs = _pods_only(text) if fast else yamlio.load_all(path, text)
    except TaskDefinitionError as e:
        raise TaskDefinitionError(f"{path}{str(e)}" if str(e).startswith(":") else str(e)) from None
    found: list[Document] = []
    strays: list[tuple[int | None, str]] = []
    for top, doc in enumerate(docs):
        if not isinstance(doc, dict):
            continue
        items: list[tuple[int | None, Any]] = [(None, doc)]
        if doc.get("kind") == "List" or str(doc.get("kind", "")).endswith("List"):
            items = [(i, item) for i, item in enumerate(doc.get("items") or []) if isinstance(item, Mapping)]
        starts = [yamlio.line_of(w) for _, w in items]
        for n, (item_index, workload) in enumerate(items):
            if not isinstance(workload, dict):
                continue
            spec = pod_spec(workload)
            lines = locate(spec) if spec is not None else {}
            following = next((x for x in starts[n + 1 :] if x is not None), None)
            if following is not None:  # a List item ends where the next begins (its comments are its own)
                lines["\tend"] = following - 1
            if spec is None:
                if str(workload.get("kind", "")) not in NO_PODS and _mentions_containers(workload):
                    strays.append(
                        (
                            yamlio.line_of(workload),
                            f"{name_of(workload)}: holds containers where no pod template is known",
                        )
                    )
                continue
            found.append(
                Document(
                    file=str(path),
                    line=yamlio.line_of(workload),
                    name=name_of(workload),
                    kind="kubernetes",
                    body=workload,
                    platform=PlatformName.KUBERNETES,
                    index=len(found),
                    stream=None if fast else (docs, top, item_index),
                    lines=lines,
                )
            )
    if not found and not strays and strict:
        raise TaskDefinitionError(f"{path}: no workload with containers found (Pod, Deployment, Job...)")
    return found, strays


def evaluate(workload: Mapping[str, Any]) -> list[Verdict]:
    """CKV_K8S_22: every container and initContainer needs securityContext.readOnlyRootFilesystem true.

    Unlike Checkov, a string such as ``"true"`` fails (the API server refuses it for a boolean), and a
    Windows pod (``spec.os.name: windows``) is not applicable: Windows containers have no such flag.
    """
    spec = pod_spec(workload)
    if spec is None:
        return []
    windows = is_windows(spec)
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
