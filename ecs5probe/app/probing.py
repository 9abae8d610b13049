"""The core's entry points with the result cache in front: look up what decides the answer, return the
stored result when there is one (no container started), else probe and store the result if it verified.

A drop-in replacement for :func:`ecs5probe.core.together.probe_deployment` (a single image is the
deployment of one container): the cache is used when the options name a ``cache_dir``, and only for
images whose content the runtime can identify.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any, TypeVar

from ecs5probe.app import cachekey
from ecs5probe.app.cache import Entry, Store
from ecs5probe.core import together as core_together
from ecs5probe.core.deployment import Deployment
from ecs5probe.core.options import Observer, ProbeOptions, Silent, Tracer
from ecs5probe.core.ports import Runtime, StorageSemantics
from ecs5probe.core.together import DeploymentResult, MemberResult
from ecs5probe.errors import UsageError
from ecs5probe.model import Cached, ContainerKind, ProbeResult, RunRecord

log = logging.getLogger(__name__)

T = TypeVar("T")

_stores: dict[str, Store] = {}  # one per directory in a process: its "cannot write" is warned once


def store_for(options: ProbeOptions) -> Store | None:
    """The cache the options name, or None."""
    if options.cache_dir is None:
        return None
    return _stores.setdefault(options.cache_dir, Store(options.cache_dir))


def probe_deployment(
    runtime: Runtime,
    d: Deployment,
    base: ProbeOptions,
    semantics: StorageSemantics,
    observer: Observer | None = None,
    attach: str | None = None,
) -> DeploymentResult:
    """:func:`ecs5probe.core.together.probe_deployment`, cached by the deployment as read and each member's
    image ID. A deployment attached to an outside network (``attach``) depends on what runs there, a probe
    with smoke tests on the repository's own test code (whose content no key holds): never cached."""
    store = store_for(base) if attach is None and not base.smoke else None
    ids = {m.image: runtime.inspect(m.image).id for m in d.members} if store is not None else {}
    if store is None or not all(ids.values()):
        return core_together.probe_deployment(runtime, d, base, semantics, observer, attach)

    def key(strace: bool | None) -> str:
        return cachekey.deployment_key(d, ids, base, semantics, strace)

    def stored(entry: Entry) -> DeploymentResult:
        out = _deployment(entry.body, Cached(entry.probed_at, entry.version))
        if len(out.members) != len(d.members):
            raise ValueError("another deployment's members")
        # The same content may be named otherwise now (retagged): the result carries today's names.
        members = [
            replace(m, name=now.name, result=replace(m.result, image=now.image))
            for m, now in zip(out.members, d.members, strict=True)
        ]
        return replace(out, deployment=d.name, members=members)

    return _through(
        store,
        _Keys(runtime, base, key),
        "deployment",
        lambda: core_together.probe_deployment(runtime, d, base, semantics, observer, attach),
        stored,
        lambda r: (r.verified, _deployment_dict(r)),
        lambda text: (observer or Silent()).phase(d.name, text),
    )


def _through(
    store: Store,
    keys: _Keys,
    kind: str,
    probe: Callable[[], T],
    stored: Callable[[Entry], T],
    encode: Callable[[T], tuple[bool, dict[str, Any]]],
    tell: Callable[[str], None],
) -> T:
    """Lookup, probe on a miss, store a verified result: the one path both entry points take."""
    for key in keys.lookup():
        entry = store.get(key)
        if entry is None or entry.kind != kind:
            continue
        try:
            out = stored(entry)
        except (UsageError, KeyError, TypeError, ValueError, AttributeError) as e:
            log.warning("cache: %s ignored: not a result this version reads (%s)", store.path(key), e)
            continue
        tell(f"cached: probed {entry.probed_at} by ecs5probe {entry.version}")
        return out
    result = probe()
    verified, body = encode(result)
    if verified:
        store.put(keys.actual(), kind, body)
    return result


class _Keys:
    """The keys to look up, and the one to store under, by the evidence sources. None asked for
    (``--tracer logs``...): one key. Else an entry made with strace is used wherever it is (the best
    evidence), which needs no look at this machine's strace (setting it up costs a second); one made
    without it only where strace is unavailable now; a result probed here is stored as what it had."""

    def __init__(self, runtime: Runtime, options: ProbeOptions, key: Callable[[bool | None], str]):
        self.runtime, self.key = runtime, key
        self.asked = options.tracer in (Tracer.AUTO, Tracer.STRACE)

    def lookup(self) -> Iterator[str]:
        if not self.asked:
            yield self.key(None)
            return
        yield self.key(True)
        if not self.runtime.tracer()[0]:
            yield self.key(False)

    def actual(self) -> str:
        return self.key(self.runtime.tracer()[0] if self.asked else None)


def _result(body: dict[str, Any]) -> ProbeResult:
    from ecs5probe.app.shard import result_from_dict

    return result_from_dict(body)


def _deployment_dict(r: DeploymentResult) -> dict[str, Any]:
    return {
        "deployment": r.deployment,
        "members": [{"name": m.name, "kind": m.kind.value, "result": m.result.to_dict()} for m in r.members],
        "together": r.together,
        "reason": r.reason,
        "runs": [run.to_dict() for run in r.runs],
    }


def _deployment(body: dict[str, Any], cached: Cached) -> DeploymentResult:
    members = [
        MemberResult(str(m["name"]), ContainerKind(m["kind"]), replace(_result(m["result"]), cached=cached))
        for m in body["members"]
    ]
    runs = [
        RunRecord(
            str(r["purpose"]),
            bool(r["readOnly"]),
            tuple(r.get("mounts", [])),
            bool(r["passed"]),
            str(r.get("reason", "")),
            float(r.get("durationSeconds", 0)),
        )
        for r in body.get("runs", [])
    ]
    return DeploymentResult(str(body["deployment"]), members, bool(body["together"]), str(body["reason"]), runs)
