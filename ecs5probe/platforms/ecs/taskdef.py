"""Task definitions: evaluate ECS.5 (Security Hub semantics), derive probe options, patch. Dicts in, dicts out."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ecs5probe.core.paths import normalise
from ecs5probe.core.publish import ecs_ports
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import HealthSpec, Mount
from ecs5probe.platforms.interface import Outcome, Verdict, already_covered, flag_verdict

LaunchType = Literal["FARGATE", "EC2"]

PASSED, FAILED, NOT_APPLICABLE, UNKNOWN = Outcome.PASSED, Outcome.FAILED, Outcome.NOT_APPLICABLE, Outcome.UNKNOWN
#: Fields describe-task-definition adds that register-task-definition refuses.
#: Bind mounts this large on Fargate deserve a look at ephemeralStorage.
LARGE_MIB = 2048
DESCRIBE_ONLY = (
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
)


ContainerVerdict = Verdict  # ECS.5 for one container of one task definition


def volume_name(path: str) -> str:
    """A stable, readable ECS volume name for a container path (letters, digits, hyphens)."""
    return (re.sub(r"[^A-Za-z0-9]+", "-", path.strip("/")).strip("-").lower() or "root")[:255]


def unwrap(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The task definition itself, from register-style input or describe-task-definition output."""
    if "taskDefinition" in doc and isinstance(doc["taskDefinition"], Mapping):
        doc = doc["taskDefinition"]
    if not isinstance(doc.get("containerDefinitions"), list):
        raise TaskDefinitionError("not a task definition: no containerDefinitions list")
    for i, c in enumerate(doc["containerDefinitions"]):
        if not isinstance(c, Mapping):
            raise TaskDefinitionError(f"containerDefinitions[{i}] is not an object")
    return dict(doc)


def is_unknown(value: Any) -> bool:
    """A value that only deploy time can tell: a Terraform reference or a CloudFormation intrinsic."""
    if isinstance(value, str):
        return "${" in value
    if isinstance(value, Mapping) and len(value) == 1:
        (key,) = value
        return key == "Ref" or str(key).startswith("Fn::")
    return False


def is_windows(td: Mapping[str, Any]) -> bool:
    platform = td.get("runtimePlatform")
    family = platform.get("operatingSystemFamily") if isinstance(platform, Mapping) else None
    return isinstance(family, str) and family.upper().startswith("WINDOWS")


def evaluate(td: Mapping[str, Any]) -> list[ContainerVerdict]:
    """ECS.5: every container (sidecars too) needs readonlyRootFilesystem true; Windows is not applicable."""
    containers = td.get("containerDefinitions")
    if is_unknown(containers):
        return [ContainerVerdict("*", UNKNOWN, "containerDefinitions cannot be resolved statically")]
    if not isinstance(containers, list):
        raise TaskDefinitionError("containerDefinitions is not a list")
    out = []
    for i, c in enumerate(containers):
        if not isinstance(c, Mapping):
            raise TaskDefinitionError(f"containerDefinitions[{i}] is not an object")
        name = str(c.get("name", f"#{i}"))
        ro = c.get("readonlyRootFilesystem")
        if is_windows(td):
            out.append(ContainerVerdict(name, NOT_APPLICABLE, "Windows task definition"))
        elif is_unknown(ro):
            out.append(ContainerVerdict(name, UNKNOWN, f"readonlyRootFilesystem is {ro!r}, known only at deploy time"))
        else:
            out.append(flag_verdict(name, ro, "readonlyRootFilesystem"))
    return out


def probe_overrides(container: Mapping[str, Any]) -> dict[str, Any]:
    """ProbeOptions fields from a container definition (healthCheck seconds stay seconds here)."""
    out: dict[str, Any] = {}
    if container.get("entryPoint") is not None:
        out["entrypoint"] = tuple(container["entryPoint"])
    if container.get("command") is not None:
        out["command"] = tuple(container["command"])
    if container.get("user"):
        out["user"] = str(container["user"])
    if container.get("workingDirectory"):
        out["workdir"] = str(container["workingDirectory"])
    env = container.get("environment") or []
    if env:
        out["environment"] = tuple(f"{e['name']}={e.get('value', '')}" for e in env)
    hc = container.get("healthCheck")
    if hc:
        cmd = hc.get("command") or []
        if not cmd or cmd[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise TaskDefinitionError(f"{container.get('name')}: healthCheck.command must start with CMD or CMD-SHELL")
        out["health"] = HealthSpec(
            test=tuple(cmd),
            interval=float(hc.get("interval", 30)),
            timeout=float(hc.get("timeout", 5)),
            retries=int(hc.get("retries", 3)),
            start_period=float(hc.get("startPeriod", 0)),
        )
    lp = container.get("linuxParameters") or {}
    caps = lp.get("capabilities") or {}
    run: dict[str, Any] = {}
    if lp.get("initProcessEnabled"):
        run["init"] = True
    if caps.get("add"):
        run["cap_add"] = list(caps["add"])
    if caps.get("drop"):
        run["cap_drop"] = list(caps["drop"])
    if container.get("memory"):
        run["mem_limit"] = f"{int(container['memory'])}m"
    controls = {str(s["namespace"]): str(s["value"]) for s in container.get("systemControls") or [] if "namespace" in s}
    if controls:  # the document's own kernel parameters (its ip_unprivileged_port_start wins over 1024)
        run["sysctls"] = controls
    if container.get("ulimits"):
        run["ulimits"] = [
            {"name": u["name"], "soft": u["softLimit"], "hard": u["hardLimit"]} for u in container["ulimits"]
        ]
    if run:
        out["docker_options"] = tuple(sorted(run.items()))
    if ecs_ports(container):
        out["publish"] = ecs_ports(container)  # reached by smoke tests
    return out


def launch_type(td: Mapping[str, Any], override: str | None = None) -> LaunchType:
    if override:
        return "FARGATE" if override.upper() == "FARGATE" else "EC2"
    return "FARGATE" if "FARGATE" in (td.get("requiresCompatibilities") or []) else "EC2"


def patch(
    td: Mapping[str, Any], mounts: Mapping[str, Sequence[Mount]], launch: LaunchType
) -> tuple[dict[str, Any], list[str]]:
    """The fixed task definition (register-ready) and notes. Keeps key order and the user's own mounts."""
    out = {k: copy.deepcopy(v) for k, v in unwrap(td).items() if k not in DESCRIBE_ONLY}
    volumes = out.setdefault("volumes", [])
    names = [v.get("name") for v in volumes]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise TaskDefinitionError(f"duplicate volume names: {', '.join(map(str, dupes))}")
    by_name = {v.get("name"): v for v in volumes}
    notes: list[str] = []
    had_volumes = "volumes" in unwrap(td)
    for c in out["containerDefinitions"]:
        name = c.get("name")
        who = f"{name}: " if name else ""
        had = {k: k in c for k in ("mountPoints", "linuxParameters")}
        c["readonlyRootFilesystem"] = True
        points = c.setdefault("mountPoints", [])
        lp = c.setdefault("linuxParameters", {})
        tmpfs = lp.get("tmpfs") or []
        have = [(normalise(p["containerPath"]), bool(p.get("readOnly", False))) for p in points] + [
            (normalise(t["containerPath"]), False) for t in tmpfs
        ]
        for m in mounts.get(name, ()):
            if not m.required:
                continue
            if already_covered(have, m, str(name or "container"), "the task's", notes):
                continue
            if m.kind == "tmpfs":
                entry: dict[str, Any] = {"containerPath": m.container_path, "size": m.size_mib}
                if m.mount_options:
                    entry["mountOptions"] = list(m.mount_options)
                tmpfs.append(entry)
                continue
            vol = _add_volume(m, launch, who, volumes, by_name, notes)
            points.append({"sourceVolume": vol, "containerPath": m.container_path, "readOnly": False})
        if tmpfs:
            lp["tmpfs"] = tmpfs
            if launch == "FARGATE":
                notes.append("linuxParameters.tmpfs is supported on Fargate since 2026-01-06 (older docs say EC2 only)")
        if not lp and not had["linuxParameters"]:
            del c["linuxParameters"]
        if not points and not had["mountPoints"]:
            del c["mountPoints"]
    if not volumes and not had_volumes:
        del out["volumes"]
    return out, list(dict.fromkeys(notes))


def _add_volume(
    m: Mount,
    launch: LaunchType,
    who: str,
    volumes: list[dict[str, Any]],
    by_name: dict[Any, dict[str, Any]],
    notes: list[str],
) -> str:
    """A task volume for a bind or Docker-volume mount, named after its path (unique); its name."""
    vol = volume_name(m.container_path)
    base, n = vol, 2
    while vol in by_name:
        vol, n = f"{base}-{n}", n + 1
    spec: dict[str, Any] = {"name": vol}
    if m.kind == "volume":
        if launch == "EC2":
            spec["dockerVolumeConfiguration"] = {"scope": "task", "driver": "local"}
        else:
            notes.append(
                f"{who}{m.container_path} ships files in the image and Fargate bind mounts start "
                f"empty: add `VOLUME {m.container_path}` to the image"
            )
    if m.kind == "bind" and launch == "FARGATE" and m.size_mib >= LARGE_MIB:
        notes.append(
            f"{who}{m.container_path} takes about {m.size_mib} MiB of task storage: consider "
            "ephemeralStorage.sizeInGiB (21-200; Fargate gives 20 GiB by default)"
        )
    volumes.append(spec)
    by_name[vol] = spec
    return vol
