"""Scale-out on the CI system's own engine: a deterministic shard of the image list, and the merge of
the shards' JSON reports back into one (no scheduler of ours)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from ecs5probe.errors import UsageError
from ecs5probe.model import (
    Basis,
    Cached,
    ContainerKind,
    Evidence,
    Finding,
    Mount,
    Privilege,
    ProbeResult,
    RunRecord,
    Unexercised,
)


def parse(spec: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) as (K, N)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", spec)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise UsageError(f"--shard {spec!r}: expected K/N with 1 <= K <= N (for example 2/4)")
    return int(m.group(1)), int(m.group(2))


def shard_of(image: str, n: int) -> int:
    """The shard (1..n) an image belongs to: by a hash of its name, the same on every machine."""
    return int.from_bytes(hashlib.sha256(image.encode("utf-8")).digest()[:8], "big") % n + 1


def select(images: Iterable[str], k: int, n: int) -> list[str]:
    """The images of shard ``k`` of ``n``, in their original order (each image in exactly one shard)."""
    return [i for i in images if shard_of(i, n) == k]


def _evidence(items: Any) -> tuple[Evidence, ...]:
    return tuple(Evidence(e["source"], e.get("path"), e.get("line", "")) for e in items or [])


def _privilege(doc: Any) -> Privilege | None:
    if doc is None:
        return None
    caps = doc.get("capabilities") or {}
    return Privilege(
        doc.get("user"),
        tuple(caps.get("add", [])),
        tuple(caps.get("drop", [])),
        bool(doc.get("verified", False)),
        tuple(doc.get("cannot", [])),
        tuple(doc.get("tried", [])),
    )


def _cached(doc: Any) -> Cached | None:
    return None if doc is None else Cached(str(doc["probedAt"]), str(doc["version"]))


def result_from_dict(doc: Any) -> ProbeResult:
    """A ProbeResult from its JSON report object (schemaVersion 1)."""
    if not isinstance(doc, dict) or "image" not in doc or "verified" not in doc:
        raise UsageError("not an ecs5probe JSON report (each result needs image and verified)")
    if doc.get("schemaVersion", 1) != 1:
        raise UsageError(f"unsupported report schemaVersion {doc.get('schemaVersion')!r} (this ecs5probe reads 1)")
    try:
        mounts = [
            Mount(
                m["containerPath"],
                m.get("kind", "tmpfs"),
                tuple(m.get("mountOptions", [])),
                int(m.get("sizeMiB", 64)),
                tuple(m.get("hidesImageContent", [])),
                bool(m.get("required", True)),
                None if m.get("degraded", False) is None else bool(m.get("degraded", False)),
                m.get("reason", ""),
                _evidence(m.get("evidence")),
            )
            for m in doc.get("mounts", [])
        ]
        findings = [Finding(f["kind"], f["message"], _evidence(f.get("evidence"))) for f in doc.get("findings", [])]
        runs = [
            RunRecord(
                r["purpose"], r["readOnly"], tuple(r.get("mounts", [])), r["passed"], r.get("reason", ""),
                float(r.get("durationSeconds", 0)), float(r.get("ranSeconds", 0)),
            )
            for r in doc.get("runs", [])
        ]  # fmt: skip
        privilege, cached = _privilege(doc.get("privilege")), _cached(doc.get("cached"))
        kinds = {k.value: k for k in ContainerKind}
        kind = kinds.get(str(doc.get("containerKind")))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UsageError(f"{doc.get('image')}: malformed report entry ({e})") from None
    return ProbeResult(
        image=str(doc["image"]),
        verified=bool(doc["verified"]),
        mounts=mounts,
        findings=findings,
        runs=runs,
        duration_seconds=float(doc.get("durationSeconds", 0)),
        reason=str(doc.get("reason", "")),
        user=str(doc.get("user", "")),
        tried=[str(t) for t in doc.get("tried", [])],
        deployment=str(doc.get("deployment", "")),
        container=str(doc.get("container", "")),
        container_kind=kind,
        privilege=privilege,
        cached=cached,
        unexercised=[Unexercised(str(u["path"]), str(u.get("reason", ""))) for u in doc.get("unexercised") or []],
        unexercised_more=int(doc.get("unexercisedMore", 0)),
        basis=_basis(doc.get("basis")),
    )


def _basis(b: Any) -> Basis | None:
    """What the verdict rests on, from its JSON object."""
    if not isinstance(b, dict):
        return None
    return Basis(
        health=b.get("healthCheck"),
        exercises=tuple(b.get("exercises") or ()),
        smoke=tuple(b.get("smoke") or ()),
        signals=tuple(b.get("signals") or ()),
        soak_seconds=float(b.get("soakSeconds") or 0),
        ports=tuple(b.get("ports") or ()),
        runs=tuple((str(r["purpose"]), float(r.get("ranSeconds", 0))) for r in b.get("runs") or []),
    )


def merge(reports: Sequence[Any]) -> list[ProbeResult]:
    """The results of several JSON reports (each one object or a list), each image once."""
    out: dict[str, ProbeResult] = {}
    for doc in reports:
        for item in doc if isinstance(doc, list) else [doc]:
            r = result_from_dict(item)
            if r.image in out:
                raise UsageError(f"{r.image} is in more than one report: shards must not overlap")
            out[r.image] = r
    return list(out.values())
