"""The Pod Security "restricted" profile's fields, container by container (init containers too), under
Checkov's ids: CKV_K8S_22 read-only root filesystem, CKV_K8S_23 non-root (runAsNonRoot true or a
non-zero runAsUser, the container's or the pod's; runAsUser 0 fails), CKV_K8S_20 allowPrivilegeEscalation
false, CKV_K8S_37 capabilities drop ALL (adding anything but NET_BIND_SERVICE fails, as the profile
says; Checkov passes it), CKV_K8S_16 not privileged. A Windows pod is not applicable."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from ecs5probe.model import ContainerKind
from ecs5probe.platforms.interface import Outcome, Verdict, as_control, asked_for
from ecs5probe.platforms.kubernetes.manifests import containers, is_windows, pod_spec
from ecs5probe.platforms.kubernetes.manifests import evaluate as read_only

READ_ONLY, NON_ROOT, NO_ESCALATION, DROP_ALL, NOT_PRIVILEGED = (
    "CKV_K8S_22",
    "CKV_K8S_23",
    "CKV_K8S_20",
    "CKV_K8S_37",
    "CKV_K8S_16",
)
CONTROLS = (READ_ONLY, NON_ROOT, NO_ESCALATION, DROP_ALL, NOT_PRIVILEGED)


def _sc(x: Mapping[str, Any]) -> Mapping[str, Any]:
    sc = x.get("securityContext")
    return sc if isinstance(sc, Mapping) else {}


def _non_root(spec: Mapping[str, Any], c: Mapping[str, Any]) -> tuple[Outcome, str]:
    sc, psc = _sc(c), _sc(spec)
    flag = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
    user = sc.get("runAsUser", psc.get("runAsUser"))
    if user == 0:
        return Outcome.FAILED, "runAsUser is 0"
    if flag is True:
        return Outcome.PASSED, "runAsNonRoot is true"
    if isinstance(user, int) and user > 0:
        return Outcome.PASSED, f"runAsUser is {user}"
    return Outcome.FAILED, "runAsNonRoot is not true and runAsUser is not set"


def _no_escalation(spec: Mapping[str, Any], c: Mapping[str, Any]) -> tuple[Outcome, str]:
    value = _sc(c).get("allowPrivilegeEscalation")
    if value is False:
        return Outcome.PASSED, "allowPrivilegeEscalation is false"
    return Outcome.FAILED, "allowPrivilegeEscalation is " + ("absent" if value is None else repr(value))


def _drop_all(spec: Mapping[str, Any], c: Mapping[str, Any]) -> tuple[Outcome, str]:
    caps = _sc(c).get("capabilities") or {}
    drop = [str(x).upper() for x in caps.get("drop") or []] if isinstance(caps, Mapping) else []
    add = [str(x).upper() for x in caps.get("add") or []] if isinstance(caps, Mapping) else []
    if "ALL" not in drop:
        return Outcome.FAILED, "capabilities do not drop ALL"
    extra = [a for a in add if a not in ("NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE")]
    if extra:
        return Outcome.FAILED, f"capabilities add {', '.join(extra)} (restricted allows only NET_BIND_SERVICE)"
    return Outcome.PASSED, "capabilities drop ALL" + (f", add {', '.join(add)}" if add else "")


def _not_privileged(spec: Mapping[str, Any], c: Mapping[str, Any]) -> tuple[Outcome, str]:
    if _sc(c).get("privileged") is True:
        return Outcome.FAILED, "privileged is true"
    return Outcome.PASSED, "not privileged"


CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Outcome, str]]] = {
    NON_ROOT: _non_root,
    NO_ESCALATION: _no_escalation,
    DROP_ALL: _drop_all,
    NOT_PRIVILEGED: _not_privileged,
}


def evaluate(workload: Mapping[str, Any], controls: Collection[str] | None = None) -> list[Verdict]:
    chosen = asked_for(CONTROLS, controls)
    out: list[Verdict] = []
    if READ_ONLY in chosen:
        out += as_control(read_only(workload), READ_ONLY)
    spec = pod_spec(workload)
    if spec is None:
        return out
    windows = is_windows(spec)
    for key, c in containers(spec):
        name = str(c.get("name", "?"))
        kind = ContainerKind.INIT if key == "initContainers" else ContainerKind.CONTAINER
        for control in chosen:
            if control == READ_ONLY:
                continue
            if windows:
                out.append(Verdict(name, Outcome.NOT_APPLICABLE, "Windows pod", kind, control))
                continue
            outcome, why = CHECKS[control](spec, c)
            out.append(Verdict(name, outcome, why, kind, control))
    return out
