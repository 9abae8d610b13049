"""Progress on stderr: one line per event in CI logs, a live table per image on a terminal."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from ecs5probe.model import ProbeResult, RunRecord


class LineProgress:
    """Observer that prints one line per phase and per run to stderr."""

    def __init__(self, console: Console, quiet: bool):
        self.c = console
        self.quiet = quiet

    def phase(self, image: str, text: str) -> None:
        if not self.quiet:
            self.c.print(f"[dim]{image}:[/] {text}")

    def run_done(self, image: str, record: RunRecord) -> None:
        if not self.quiet:
            mark = "[green]pass[/]" if record.passed else "[red]fail[/]"
            self.c.print(
                f"[dim]{image}:[/]   {record.purpose}: {mark} ({record.reason}, {record.duration_seconds:.1f}s)"
            )


@dataclass
class _Row:
    phase: str = "waiting"
    runs: int = 0
    start: float | None = None


class LiveProgress:
    """One line per image (phase, runs so far, elapsed), redrawn in place on a terminal."""

    def __init__(self, console: Console, images: Sequence[str]):
        from rich.live import Live

        self.rows: dict[str, _Row] = {i: _Row() for i in images}
        self.live = Live(self._table(), console=console, refresh_per_second=4, transient=False)

    def _table(self) -> Table:
        t = Table(show_header=True, header_style="bold", box=None)
        for col in ("image", "phase", "runs", "elapsed"):
            t.add_column(col)
        for image, row in self.rows.items():
            elapsed = f"{time.monotonic() - row.start:.0f}s" if row.start is not None else "-"
            t.add_row(image, row.phase, str(row.runs), elapsed)
        return t

    def phase(self, image: str, text: str) -> None:
        row = self.rows.setdefault(image, _Row())
        row.start = row.start or time.monotonic()
        row.phase = text
        self.live.update(self._table())

    def run_done(self, image: str, record: RunRecord) -> None:
        self.rows[image].runs += 1
        self.live.update(self._table())

    def done(self, image: str, result: ProbeResult) -> None:
        self.rows[image].phase = "verified" if result.verified else "NOT verified"
        self.live.update(self._table())
