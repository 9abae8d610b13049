"""Compose files as ``docker compose`` reads them: interpolation (``.env`` and the environment,
``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR:+alt}``, ``$$``),
``extends`` (same file and ``file:``), several files merged in order, profiles. Where a Compose v2 plugin
is installed, ``docker compose config`` itself says it; this reader is the fallback (and the only reader
when ``ECS5PROBE_COMPOSE=builtin``)."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ecs5probe.errors import TaskDefinitionError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Keys whose lists Compose appends when merging files (and ``extends``); the rest are replaced.
APPEND = {
    "cap_add",
    "cap_drop",
    "devices",
    "dns",
    "dns_search",
    "env_file",
    "expose",
    "external_links",
    "extra_hosts",
    "group_add",
    "links",
    "ports",
    "secrets",
    "configs",
    "security_opt",
    "tmpfs",
    "volumes",
    "volumes_from",
}
#: Keys whose list form (``NAME=value``) Compose merges as a mapping.
PAIRS = {"environment", "labels", "annotations", "sysctls", "extra_hosts"}
BOOLEANS = {"read_only", "privileged", "init", "tty", "stdin_open"}
_TRUE, _FALSE = {"y", "yes", "true", "on"}, {"n", "no", "false", "off"}


def interpolate(value: Any, env: Mapping[str, str], where: str = "") -> Any:
    """Every string of ``value`` interpolated, as Compose does (``$$`` is a literal ``$``)."""
    if isinstance(value, str):
        return _string(value, env, where) if "$" in value else value
    if isinstance(value, list):
        return [interpolate(v, env, where) for v in value]
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            new = interpolate(v, env, f"{where}.{k}" if where else str(k))
            if str(k) in BOOLEANS and isinstance(v, str) and isinstance(new, str):
                low = new.strip().lower()
                new = True if low in _TRUE else False if low in _FALSE else new
            out[str(k)] = new
        return out
    return value


def _string(s: str, env: Mapping[str, str], where: str) -> str:
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch != "$" or i + 1 >= len(s):
            out.append(ch)
            i += 1
            continue
        nxt = s[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            depth, j = 1, i + 2
            while j < len(s) and depth:
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                j += 1
            if depth:
                raise TaskDefinitionError(f"{where}: unclosed ${{ in {s!r}")
            out.append(_braced(s[i + 2 : j - 1], env, where))
            i = j
        else:
            m = _NAME.match(s, i + 1)
            if m:
                out.append(env.get(m.group(0), ""))
                i = m.end()
            else:
                out.append("$")
                i += 1
    return "".join(out)


def _braced(inner: str, env: Mapping[str, str], where: str) -> str:
    m = _NAME.match(inner)
    if not m:
        raise TaskDefinitionError(f"{where}: invalid interpolation ${{{inner}}}")
    name, rest = m.group(0), inner[m.end() :]
    value = env.get(name)
    if not rest:
        return value or ""
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            unset = value is None or (op.startswith(":") and value == "")
            if op in (":-", "-"):
                return _string(arg, env, where) if unset else str(value)
            if op in (":+", "+"):
                return "" if unset else _string(arg, env, where)
            if unset:
                why = _string(arg, env, where) or f"{name} is required"
                raise TaskDefinitionError(f"{where}: required variable {name} is missing a value: {why}")
            return str(value)
    raise TaskDefinitionError(f"{where}: invalid interpolation ${{{inner}}}")


def dotenv(path: Path) -> dict[str, str]:
    """A ``.env`` file's variables (``KEY=value``, ``export``, quotes, comments)."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if value[:1] == "'" and value.endswith("'") and len(value) > 1:
            value = value[1:-1]
        elif value[:1] == '"' and value.endswith('"') and len(value) > 1:
            value = value[1:-1].replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.sub(r"\s+#.*$", "", value)
        out[key.strip()] = value
    return out


def environment(first: Path, env_file: str | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables Compose interpolates with: the project's ``.env`` (or ``env_file``) under the
    environment (which wins)."""
    found = dotenv(Path(env_file) if env_file else first.parent / ".env")
    return {**found, **(os.environ if base is None else base)}


def merge(base: Any, over: Any, key: str = "") -> Any:
    """Compose's merge of one file (or an ``extends`` base) under another."""
    if key in PAIRS and (isinstance(base, (list, Mapping)) and isinstance(over, (list, Mapping))):
        return {**_pairs(base), **_pairs(over)}
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(out[k], v, str(k)) if k in out else v
        return out
    if key in APPEND and isinstance(base, list) and isinstance(over, list):
        return base + [v for v in over if v not in base]
    return over


def _pairs(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    out: dict[str, Any] = {}
    for item in value:
        k, sep, v = str(item).partition("=")
        out[k] = v if sep else None
    return out


def _load(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    from ecs5probe.platforms import yamlio

    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise TaskDefinitionError(f"{path}: {e.strerror or e}") from None
    docs = yamlio.load_all(path, text)
    doc = yamlio.plain(docs[0]) if docs else {}
    if not isinstance(doc, dict):
        raise TaskDefinitionError(f"{path}: not a Compose file")
    out = interpolate(doc, env, str(path))
    return out if isinstance(out, dict) else {}


def _extends(
    services: dict[str, Any], name: str, here: Path, env: Mapping[str, str], seen: tuple[str, ...]
) -> dict[str, Any]:
    s = services.get(name)
    if not isinstance(s, Mapping):
        raise TaskDefinitionError(f"{here}: extends names service {name}, which is not defined")
    ext = s.get("extends")
    if ext is None:
        return dict(s)
    key = f"{here}:{name}"
    if key in seen:
        raise TaskDefinitionError(f"{here}: service {name} extends itself (through {' -> '.join(seen)})")
    target, other = (ext, None) if isinstance(ext, str) else (ext.get("service"), ext.get("file"))
    if not isinstance(target, str):
        raise TaskDefinitionError(f"{here}: service {name}: extends needs a service")
    if other:
        there = (here.parent / str(other)).resolve()
        pool = _load(there, env).get("services") or {}
        base = _extends(dict(pool), target, there, env, (*seen, key))
    else:
        base = _extends(services, target, here, env, (*seen, key))
    if other:
        base.pop("depends_on", None)  # Compose does not carry another file's links across
    mine = {k: v for k, v in s.items() if k != "extends"}
    out = merge(base, mine)
    return dict(out) if isinstance(out, Mapping) else {}


def project(
    body: Mapping[str, Any],
    files: Sequence[str],
    profiles: Sequence[str] = (),
    env_file: str | None = None,
    base_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The effective Compose model of ``files`` (``body``: the first one, already parsed): interpolated,
    merged in order, ``extends`` resolved, services of inactive profiles left out (with no profile
    named, every service is kept: a scanner judges them all)."""
    from ecs5probe.platforms import yamlio

    first = Path(files[0]) if files else Path("compose.yaml")
    env = environment(first, env_file, base_env)
    docker = _docker_config(files, profiles, env_file) if files and Path(files[0]).is_file() else None
    if docker is not None:
        return docker
    raw = yamlio.plain(body)
    done = interpolate(raw if isinstance(raw, dict) else {}, env, str(first))
    model: dict[str, Any] = dict(done) if isinstance(done, Mapping) else {}
    services = {**_included(model.pop("include", None), first, env), **(model.get("services") or {})}
    resolved = {n: _extends(services, str(n), first, env, ()) for n in services}
    model["services"] = resolved
    for f in files[1:]:
        p = Path(f)
        over = _load(p, env)
        osvc = dict(over.get("services") or {})
        over["services"] = {n: _extends(osvc, str(n), p, env, ()) for n in osvc}
        merged = merge(model, over)
        model = dict(merged) if isinstance(merged, Mapping) else model
    active = set(profiles) or {p for p in env.get("COMPOSE_PROFILES", "").split(",") if p}
    if active:
        model["services"] = {
            n: s
            for n, s in (model.get("services") or {}).items()
            if not (isinstance(s, Mapping) and s.get("profiles")) or active & {str(p) for p in s["profiles"]}
        }
    return model


def _included(include: Any, first: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The services of the files a Compose file ``include``s (Compose 2.20: a path, or ``path:``)."""
    out: dict[str, Any] = {}
    for item in include if isinstance(include, list) else []:
        paths = item.get("path") if isinstance(item, Mapping) else item
        for p in paths if isinstance(paths, list) else [paths]:
            there = first.parent / str(p)
            svc = dict(_load(there, env).get("services") or {})
            out.update({n: _extends(svc, str(n), there, env, ()) for n in svc})
    return out


@functools.lru_cache(maxsize=1)
def _docker_compose_v2() -> bool:
    if os.environ.get("ECS5PROBE_COMPOSE", "auto") == "builtin" or not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _docker_config(files: Sequence[str], profiles: Sequence[str], env_file: str | None) -> dict[str, Any] | None:
    """``docker compose config``'s model of the project, where a v2 plugin is installed (else None)."""
    if not _docker_compose_v2():
        return None
    cmd = ["docker", "compose"] + [a for f in files for a in ("-f", str(Path(f).resolve()))]
    cmd += [a for p in (profiles or ["*"]) for a in ("--profile", p)]
    cmd += ["--env-file", env_file] if env_file else []
    cmd += ["config", "--format", "json"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=Path(files[0]).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        raise TaskDefinitionError(f"docker compose config: {done.stderr.strip()[:300]}")
    try:
        model = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None
    return model if isinstance(model, dict) else None
