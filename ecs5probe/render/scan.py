"""``scan``'s outputs: a result in, text out (a JSON list, the table people read, JUnit, SARIF). Every
format carries the rows, the suppressed ones marked with their justification, and the files that could
not be judged."""

from __future__ import annotations

import io
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecs5probe.app.scanning import Level, ScanResult, ScanRow
from ecs5probe.model import ContainerKind
from ecs5probe.platforms.interface import Outcome

COLOUR = {Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.UNKNOWN: "yellow", Outcome.NOT_APPLICABLE: "dim"}


def to_json(result: ScanResult) -> str:
    """A list: one object per row (``suppressed``, ``justification``), then one per file problem
    (``level``, ``message``)."""
    items: list[dict[str, Any]] = [r.to_dict() for r in result.rows]
    items += [p.to_dict() for p in result.problems]
    return json.dumps(items, indent=2) + "\n"


def to_table(result: ScanResult, width: int | None = 160, color: bool = False) -> str:
    """A table and a count line; an init container is named as written, its kind in brackets."""
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, highlight=False, soft_wrap=True, color_system="standard" if color else None
    )
    t = Table(show_header=True, header_style="bold")
    for col in ("file:line", "document", "container", "control", "verdict", "reason"):
        t.add_column(col)
    for r in result.rows:
        name = r.container if r.container_kind is ContainerKind.CONTAINER else f"{r.container} [{r.container_kind}]"
        verdict = Text(str(r.verdict), style=COLOUR[r.verdict])
        reason = r.reason if r.suppressed is None else f"suppressed: {r.suppressed} ({r.reason})"
        if r.suppressed is not None:
            verdict = Text(f"{r.verdict} (suppressed)", style="dim")
        t.add_row(Text(r.where), Text(r.document), Text(name), Text(r.control), verdict, Text(reason))
    console.print(t)
    counts = {k: sum(r.verdict is k and r.suppressed is None for r in result.rows) for k in COLOUR}
    parts = [f"{n} {k.value.lower()}" for k, n in counts.items() if n]
    suppressed = sum(r.suppressed is not None for r in result.rows)
    parts += [f"{suppressed} suppressed"] if suppressed else []
    parts += [f"{len(result.problems)} file(s) not judged"] if result.problems else []
    console.print(", ".join(parts) or "no documents found")
    return buf.getvalue()


def to_junit(result: ScanResult) -> str:
    """One testcase per container and control (classname: the document), a failure where it fails, an
    error where it cannot be decided (UNKNOWN); a suppressed one is skipped with its justification; a
    file not judged is an error."""
    import xml.etree.ElementTree as ET

    found = result.rows
    live = [r for r in found if r.suppressed is None]
    failed = sum(r.verdict is Outcome.FAILED for r in live)
    unknown = sum(r.verdict is Outcome.UNKNOWN for r in live)
    suite = ET.Element(
        "testsuite",
        name="ecs5probe scan",
        tests=str(len(found) + len(result.problems)),
        failures=str(failed),
        errors=str(unknown + len(result.problems)),
        skipped=str(len(found) - len(live) + sum(r.verdict is Outcome.NOT_APPLICABLE for r in live)),
    )
    for r in found:
        case = ET.SubElement(
            suite, "testcase", classname=f"{r.platform}.{r.document}", name=f"{r.container} {r.control}"
        )
        case.set("file", r.file)
        if r.at:
            case.set("line", str(r.at))
        if r.suppressed is not None:
            ET.SubElement(case, "skipped", message=f"suppressed: {r.suppressed} ({r.verdict}: {r.reason})")
        elif r.verdict is Outcome.FAILED:
            ET.SubElement(case, "failure", message=f"{r.control}: {r.reason}", type=r.control).text = r.where
        elif r.verdict is Outcome.UNKNOWN:  # not decided statically: an error, never a silent skip
            ET.SubElement(case, "error", message=f"{r.control}: UNKNOWN: {r.reason}", type="UNKNOWN").text = r.where
        elif r.verdict is Outcome.NOT_APPLICABLE:
            ET.SubElement(case, "skipped", message=f"{r.verdict}: {r.reason}")
    for p in result.problems:
        case = ET.SubElement(suite, "testcase", classname="ecs5probe.files", name=p.file)
        case.set("file", p.file)
        ET.SubElement(case, "error", message=p.message, type=p.level.value).text = (
            f"{p.file}:{p.line}" if p.line else p.file
        )
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _region(r: ScanRow) -> dict[str, Any]:
    return {"region": {"startLine": r.at}} if r.at else {}


def to_sarif(result: ScanResult) -> str:
    """SARIF 2.1.0: one rule per control, one result per failing (or unknown) container at its line (the
    offending key's where it is written), suppressed results with their justification, stable
    ``partialFingerprints``; files not judged are tool execution notifications."""
    from ecs5probe.version import __version__

    found = result.rows
    controls = sorted({r.control for r in found})
    rules = [{"id": c, "name": c, "shortDescription": {"text": _TITLES.get(c, c)}} for c in controls]
    results = []
    for r in found:
        if r.verdict not in (Outcome.FAILED, Outcome.UNKNOWN):
            continue
        item: dict[str, Any] = {
            "ruleId": r.control,
            "level": "error" if r.verdict is Outcome.FAILED else "warning",
            "message": {"text": f"{r.document}: {r.container}: {r.verdict}: {r.reason}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": r.file}, **_region(r)},
                    "logicalLocations": [{"name": r.container, "fullyQualifiedName": f"{r.document}/{r.container}"}],
                }
            ],
            "partialFingerprints": {"ecs5probe/scan/v2": r.fingerprint},
        }
        if r.suppressed is not None:
            item["suppressions"] = [{"kind": "inSource", "status": "accepted", "justification": r.suppressed}]
        results.append(item)
    notifications = [
        {
            "level": "error" if p.level is Level.ERROR else "warning",
            "message": {"text": f"{p.file}: {p.message}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": p.file},
                        **({"region": {"startLine": p.line}} if p.line else {}),
                    }
                }
            ],
        }
        for p in result.problems
    ]
    invocation: dict[str, Any] = {"executionSuccessful": not any(p.level is Level.ERROR for p in result.problems)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    run = {
        "tool": {"driver": {"name": "ecs5probe", "version": __version__, "rules": rules}},
        "invocations": [invocation],
        "results": results,
    }
    doc = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2) + "\n"


_TITLES = {
    "ECS.5": "ECS containers should be limited to read-only access to root filesystems",
    "ECS.20": "ECS task definitions should configure non-root users in Linux container definitions",
    "ECS.4": "ECS containers should run as non-privileged",
    "CKV_K8S_22": "Use read-only filesystem for containers where possible",
    "CKV_K8S_23": "Minimize the admission of root containers",
    "CKV_K8S_20": "Containers should not run with allowPrivilegeEscalation",
    "CKV_K8S_37": "Minimize the admission of containers with capabilities assigned",
    "CKV_K8S_16": "Container should not be privileged",
    "read_only": "Compose services should set read_only: true",
    "user": "Compose services should run as a non-root user",
    "privileged": "Compose services should not be privileged",
}
