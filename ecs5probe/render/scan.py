"""``scan``'s outputs: rows in, text out (a JSON list, or the table people read)."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecs5probe.platforms.interface import Outcome
from ecs5probe.scanning import ScanRow

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
        name = r.container if r.container_kind.value == "container" else f"{r.container} [{r.container_kind}]"
        verdict = Text(str(r.verdict), style=COLOUR[r.verdict])
        t.add_row(Text(r.where), Text(r.document), Text(name), Text(r.control), verdict, Text(r.reason))
    console.print(t)
    counts = {k: sum(r.verdict is k for r in found) for k in COLOUR}
    console.print(", ".join(f"{n} {k.value.lower()}" for k, n in counts.items() if n) or "no documents found")
    return buf.getvalue()
