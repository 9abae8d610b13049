"""SARIF 2.1.0 for code scanning: stable rule ids, one result per image and path."""

from __future__ import annotations

import json
from typing import Any

from ecs5probe.model import ProbeResult
from ecs5probe.render.interface import Report
from ecs5probe.version import __version__

RULES = [
    {
        "id": "ECS5P001",
        "name": "WritableMountRequired",
        "shortDescription": {"text": "The image writes here: the task definition needs a writable mount"},
        "helpUri": "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-5",
        "defaultConfiguration": {"level": "warning"},
    },
    {
        "id": "ECS5P002",
        "name": "CannotRunReadOnly",
        "shortDescription": {"text": "The image cannot be made to work with a read-only root filesystem"},
        "helpUri": "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-5",
        "defaultConfiguration": {"level": "error"},
    },
    {
        "id": "ECS5P003",
        "name": "ToleratedWrite",
        "shortDescription": {"text": "A write fails under a read-only root filesystem, and the app goes on"},
        "helpUri": "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-5",
        "defaultConfiguration": {"level": "note"},
    },
    {
        "id": "ECS5P004",
        "name": "UnexercisedWriteCandidate",
        "shortDescription": {"text": "The app could write here, and no probe run wrote it: exercise it next"},
        "helpUri": "https://docs.aws.amazon.com/securityhub/latest/userguide/ecs-controls.html#ecs-5",
        "defaultConfiguration": {"level": "note"},
    },
]


def _result(rule: str, level: str, text: str, r: ProbeResult, path: str | None) -> dict[str, Any]:
    """One result; in a deployment its logical location is ``deployment/container``."""
    image, who = r.image, r.label
    logical = who + (f":{path}" if path else "")
    cached = {"ecs5probe.cachedAt": r.cached.probed_at, "ecs5probe.cachedBy": r.cached.version} if r.cached else {}
    return {
        "ruleId": rule,
        "level": level,
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": image.replace(":", "/") + "/Dockerfile"}},
                "logicalLocations": [{"name": path or who, "fullyQualifiedName": logical, "kind": "resource"}],
            }
        ],
        "partialFingerprints": {"ecs5probe/v1": logical},
        **({"properties": cached} if cached else {}),
    }


def render(report: Report) -> str:
    results = []
    for r in report.results:
        if not r.verified:
            results.append(_result("ECS5P002", "error", f"{r.label}: {r.reason}", r, None))
        new = set(report.regressions.get(r.image, []))
        for m in r.mounts:
            if m.required:
                level = "error" if m.container_path in new else "warning"
                text = f"{r.label} writes {m.container_path}: mount a writable {m.kind} there ({m.reason})"
                results.append(_result("ECS5P001", level, text, r, m.container_path))
            else:
                text = f"{r.label}: {m.container_path}: {m.reason}"
                results.append(_result("ECS5P003", "note", text, r, m.container_path))
        rests = f"; the verdict rests on: {r.basis.summary()}" if r.basis is not None else ""
        for u in r.unexercised:
            text = f"{r.label}: no run wrote {u.path} ({u.reason}): not mounted; exercise it next{rests}"
            results.append(_result("ECS5P004", "note", text, r, u.path))
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "ecs5probe", "version": __version__, "rules": RULES}},
        "results": results,
        # what each verdict rests on (health check, exercises, smoke tests, signals, soak, time)
        "properties": {"basis": {r.label: r.basis.summary() for r in report.results if r.basis is not None}},
    }
    cached = {r.label: r.cached.to_dict() for r in report.results if r.cached is not None}
    if cached:  # every cached image, those with no result too: when and by which version each was probed
        run["properties"]["ecs5probe.cached"] = cached
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2) + "\n"
