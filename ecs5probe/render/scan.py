"""``scan``'s outputs: rows in, text out (a JSON list, or the table people read)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecs5probe.app.scanning import ScanRow
from ecs5probe.model import ContainerKind
from ecs5probe.platforms.interface import Outcome

COLOUR = {Outcome.PASSED: "green", Outcome.FAILED: "red", Outcome.UNKNOWN: "yellow", Outcome.NOT_APPLICABLE: "dim"}


def to_json(found: Sequence[ScanRow]) -> str:
    return json.dumps([r.to_dict() for r in found], indent=2) + "\n"


def to_table(found: Sequence[ScanRow], width: int | None = 160, color: bool = False) -> str:
    """A table and a count line; an init container is named as written, its kind in brackets."""
    buf = io.StringIO()
    console = Console(
        file=buf, width=width, highlight=False, soft_wrap=True, color_system="standard" if color else None
    )
    t = Table(show_header=True, header_style="bold")
    for col in ("file:line", "document", "container", "control", "verdict", "reason"):
        t.add_column(col)
    for r in found:
        name = r.container if r.container_kind is ContainerKind.CONTAINER else f"{r.container} [{r.container_kind}]"
        verdict = Text(str(r.verdict), style=COLOUR[r.verdict])
        t.add_row(Text(r.where), Text(r.document), Text(name), Text(r.control), verdict, Text(r.reason))
    console.print(t)
    counts = {k: sum(r.verdict is k for r in found) for k in COLOUR}
    console.print(", ".join(f"{n} {k.value.lower()}" for k, n in counts.items() if n) or "no documents found")
    return buf.getvalue()


def to_junit(found: Sequence[ScanRow]) -> str:
    """One testcase per container and control (classname: the document), a failure where it fails."""
    import xml.etree.ElementTree as ET

    failed = [r for r in found if r.verdict is Outcome.FAILED]
    suite = ET.Element("testsuite", name="ecs5probe scan", tests=str(len(found)), failures=str(len(failed)), errors="0")
    for r in found:
        case = ET.SubElement(
            suite, "testcase", classname=f"{r.platform}.{r.document}", name=f"{r.container} {r.control}"
        )
        if r.verdict is Outcome.FAILED:
            ET.SubElement(case, "failure", message=f"{r.control}: {r.reason}", type=r.control).text = r.where
        elif r.verdict in (Outcome.NOT_APPLICABLE, Outcome.UNKNOWN):
            ET.SubElement(case, "skipped", message=f"{r.verdict}: {r.reason}")
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def to_sarif(found: Sequence[ScanRow]) -> str:
    """SARIF 2.1.0: one rule per control, one result per failing (or unknown) container, at its line."""
    from ecs5probe.version import __version__

    controls = sorted({r.control for r in found})
    rules = [{"id": c, "name": c, "shortDescription": {"text": _TITLES.get(c, c)}} for c in controls]
    results = [
        {
            "ruleId": r.control,
            "level": "error" if r.verdict is Outcome.FAILED else "note",
            "message": {"text": f"{r.document}: {r.container}: {r.reason}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.file},
                        **({"region": {"startLine": r.line}} if r.line else {}),
                    },
                    "logicalLocations": [{"name": r.container, "fullyQualifiedName": f"{r.document}/{r.container}"}],
                }
            ],
            "partialFingerprints": {"ecs5probe/scan/v1": f"{r.file}:{r.document}/{r.container}:{r.control}"},
        }
        for r in found
        if r.verdict in (Outcome.FAILED, Outcome.UNKNOWN)
    ]
    run = {"tool": {"driver": {"name": "ecs5probe", "version": __version__, "rules": rules}}, "results": results}
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
