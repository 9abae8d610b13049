"""Compose files: the services, their ``read_only`` verdicts, and how Compose would run each one."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from ecs5probe.core.publish import compose_ports
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import HealthSpec, PlatformName
from ecs5probe.platforms import yamlio
from ecs5probe.platforms.interface import Document, Outcome, Verdict, flag_verdict

PASSED, FAILED = Outcome.PASSED, Outcome.FAILED
_SERVICES = re.compile(r"^services:\s*(#.*)?$", re.M)
_DURATION = re.compile(r"([0-9.]+)(us|ms|s|m|h)")
_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def claims(text: str) -> bool:
    """A Compose file: a top-level ``services:`` mapping (and not a Kubernetes manifest)."""
    return bool(_SERVICES.search(text)) and not re.search(r"^(apiVersion|kind|Resources):", text, re.M)


def services(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    svc = doc.get("services")
    if not isinstance(svc, Mapping):
        raise TaskDefinitionError("services is not a mapping")
    for name, s in svc.items():
        if not isinstance(s, Mapping):
            raise TaskDefinitionError(f"service {name} is not a mapping")
    return svc


#: The file names docker compose reads by default, and the override it merges over each.
COMPOSE_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def default_overrides(path: Path) -> list[Path]:
    """The override file docker compose merges over ``path`` when no ``-f`` is given."""
    if path.name not in COMPOSE_NAMES:
        return []
    stem = path.name.rsplit(".", 1)[0]
    found = [path.parent / f"{stem}.override.{ext}" for ext in ("yaml", "yml")]
    return [f for f in found if f.is_file()][:1]


#: The attribute of a parsed Compose file that says how to read its project (see :func:`attach`).
PROJECT = "_ecs5probe_project"


def attach(doc: Any, files: Sequence[str], profiles: Sequence[str] = (), env_file: str | None = None) -> None:
    """Say how ``doc`` (the first file's parse) is read as a project: its files in order, the active
    profiles, an env file; :func:`resolved` then reads it so (a plain dict reads as itself)."""
    try:
        setattr(doc, PROJECT, (tuple(files), tuple(profiles), env_file, None))
    except AttributeError:
        pass


def files_of(doc: Mapping[str, Any]) -> tuple[str, ...]:
    """The files ``doc`` is read with as a project (its own first), as :func:`attach` said."""
    how = getattr(doc, PROJECT, None)
    return tuple(how[0]) if how is not None else ()


def resolved(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The services as Compose runs them: interpolated, ``extends`` resolved, files merged, profiles."""
    from ecs5probe.platforms.compose.resolve import project

    services(doc)  # the file's own shape is checked first
    how = getattr(doc, PROJECT, None)
    if how is None:
        model = project(doc, (), base_env={})
    elif how[3] is not None and how[3][0] == id(doc):  # a copy (a patched document) reads again
        return cast(Mapping[str, Any], how[3][1])
    else:
        model = project(doc, how[0], how[1], how[2])
    svc = model.get("services") or {}
    if not isinstance(svc, Mapping) or not all(isinstance(s, Mapping) for s in svc.values()):
        raise TaskDefinitionError("services is not a mapping of services")
    if how is not None:
        setattr(doc, PROJECT, (*how[:3], (id(doc), svc)))
    return svc


def locate(doc: Mapping[str, Any]) -> dict[str, int]:
    """Each service's own line, and the lines of the keys the controls read."""
    out: dict[str, int] = {}
    svc = doc.get("services")
    if not isinstance(svc, Mapping):
        return out
    for name, s in svc.items():
        line = yamlio.key_line(svc, name)
        if line is None:
            continue
        out[str(name)] = line
        for key in ("read_only", "user", "privileged"):
            at = yamlio.key_line(s, key) if isinstance(s, Mapping) else None
            if at is not None:
                out[f"{name}\t{key}"] = at
    return out


def read(path: Path, text: str, strict: bool) -> Iterator[Document]:
    docs = yamlio.load_all(path, text)
    if len(docs) != 1 or not isinstance(docs[0], dict) or not isinstance(docs[0].get("services"), Mapping):
        if strict:
            raise TaskDefinitionError(f"{path}: not a Compose file (no services mapping)")
        return
    doc = docs[0]
    attach(doc, (str(path), *(str(o) for o in default_overrides(path))))  # as `docker compose up` reads it
    name = str(doc.get("name") or path.resolve().parent.name)
    yield Document(
        str(path),
        yamlio.line_of(doc["services"]),
        name,
        "compose",
        doc,
        platform=PlatformName.COMPOSE,
        stream=docs,
        lines=locate(doc),
    )


def evaluate(doc: Mapping[str, Any]) -> list[Verdict]:
    out = []
    for name, s in resolved(doc).items():
        out.append(flag_verdict(str(name), s.get("read_only"), "read_only"))
    return out


def seconds(value: Any, default: float) -> float:
    """A Compose duration (``1m30s``, ``500ms``, ``10s``) in seconds."""
    if value is None:
        return default
    if isinstance(value, (int, float)):
        return float(value)
    parts = _DURATION.findall(str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value).strip():
        raise TaskDefinitionError(f"not a Compose duration: {value!r}")
    return sum(float(n) * _SECONDS[u] for n, u in parts)


def health(s: Mapping[str, Any]) -> HealthSpec | None:
    hc = s.get("healthcheck")
    if not isinstance(hc, Mapping):
        return None
    if hc.get("disable") is True:
        return HealthSpec(test=("NONE",))
    test = hc.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if not test:
        return None
    return HealthSpec(
        test=tuple(str(t) for t in test),
        interval=seconds(hc.get("interval"), 30),
        timeout=seconds(hc.get("timeout"), 30),
        retries=int(hc.get("retries", 3)),
        start_period=seconds(hc.get("start_period"), 0),
    )


def _argv(value: Any) -> tuple[str, ...]:
    return tuple(shlex.split(value)) if isinstance(value, str) else tuple(str(v) for v in value)


def _environment(value: Any) -> tuple[str, ...]:
    if isinstance(value, Mapping):
        return tuple(f"{k}={'' if v is None else v}" for k, v in value.items())
    return tuple(str(e) for e in value or [] if "=" in str(e))  # a bare NAME comes from the shell: unknown


def _memory(value: Any) -> str:
    m = re.match(r"^([0-9.]+)\s*([bkmg]?)b?$", str(value).strip().lower())
    if not m:
        raise TaskDefinitionError(f"not a Compose memory size: {value!r}")
    scale = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30}[m.group(2)]
    return f"{max(int(float(m.group(1)) * scale) // 2**20, 6)}m"


def probe_overrides(s: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if s.get("entrypoint") is not None:
        out["entrypoint"] = _argv(s["entrypoint"])
    if s.get("command") is not None:
        out["command"] = _argv(s["command"])
    if s.get("user") is not None:
        out["user"] = str(s["user"])
    if s.get("working_dir"):
        out["workdir"] = str(s["working_dir"])
    if s.get("environment"):
        out["environment"] = _environment(s["environment"])
    hc = health(s)
    if hc is not None:
        out["health"] = hc
    run: dict[str, Any] = {}
    for key in ("cap_add", "cap_drop", "group_add"):
        if s.get(key):
            run[key] = [str(x) for x in s[key]]
    if s.get("init") is True:
        run["init"] = True
    memory = s.get("mem_limit") or ((s.get("deploy") or {}).get("resources") or {}).get("limits", {}).get("memory")
    if memory is not None:
        run["mem_limit"] = _memory(memory)
    sysctls = s.get("sysctls")
    if isinstance(sysctls, list):
        sysctls = dict(str(x).split("=", 1) for x in sysctls if "=" in str(x))
    if sysctls:
        run["sysctls"] = {str(k): str(v) for k, v in sysctls.items()}
    if run:
        out["docker_options"] = tuple(sorted(run.items()))
    if compose_ports(s):
        out["publish"] = compose_ports(s)  # reached by smoke tests
    return out
