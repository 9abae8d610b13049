"""The result cache's key: everything that decides a probe's answer, and nothing else, hashed.

What is keyed: the content of every image (its ID, never its tag), every :class:`ProbeOptions` field but
those in :data:`NOT_KEYED` (so that an option added later is keyed by default), the platform whose
storage semantics verify the mounts, the evidence sources this machine offers (strace or not), the
tool's version and the cache's format; for a deployment, the deployment as read, each member's image
replaced by its ID.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from enum import Enum
from typing import Any

from ecs5probe.core.deployment import Deployment
from ecs5probe.core.options import ProbeOptions
from ecs5probe.version import __version__

#: Bumped when an entry's layout changes: older entries then miss.
FORMAT = "ecs5probe-cache/1"

#: Options that cannot change the answer: how many containers run at once, where the cache is.
NOT_KEYED = frozenset({"jobs", "cache_dir"})


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data, the same for equal values: dataclasses by field (with their type's
    name), enums by value, tuples and sets as lists, mappings with sorted string keys."""
    if is_dataclass(value) and not isinstance(value, type):
        return {"@": type(value).__name__, **{f.name: canonical(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, Enum):
        return canonical(value.value)
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return {"@": type(value).__name__, "repr": repr(value)}  # never seen in options today: keyed as shown


def options_material(options: ProbeOptions) -> dict[str, Any]:
    """The options that decide the answer, by field name."""
    return {f.name: canonical(getattr(options, f.name)) for f in fields(options) if f.name not in NOT_KEYED}


def digest(material: Any) -> str:
    """The SHA-256 (hex) of ``material``'s canonical JSON."""
    text = json.dumps(canonical(material), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _common(options: ProbeOptions, semantics: object, strace: bool | None) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": __version__,
        "options": options_material(options),
        "semantics": f"{type(semantics).__module__}.{type(semantics).__qualname__}",
        "strace": strace,  # None: not asked for (--tracer logs, diff, no-strace)
    }


def image_key(image_id: str, options: ProbeOptions, semantics: object, strace: bool | None) -> str:
    """The key of one image's probe: its content, the options, the platform, the evidence, the version."""
    return digest({"kind": "image", "image": image_id, **_common(options, semantics, strace)})


def deployment_key(
    deployment: Deployment,
    image_ids: dict[str, str],
    options: ProbeOptions,
    semantics: object,
    strace: bool | None,
) -> str:
    """The key of a deployment's probe: the deployment as read, each member's image by its ID. An image's
    own deployment (``probe IMAGE``) is named after the reference: its names are left out, so the same
    content under another tag is the same key."""
    names = {} if deployment.documented else {"name": ""}
    members = [{**canonical(m), "image": image_ids[m.image], **names} for m in deployment.members]
    read = {**canonical(deployment), "members": members, **names}
    return digest({"kind": "deployment", "deployment": read, **_common(options, semantics, strace)})
