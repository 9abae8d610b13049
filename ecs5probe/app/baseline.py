"""A baseline file for ``probe --baseline``: read, gate results against it, write it (the pure rules
are :mod:`ecs5probe.core.baseline`)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass

from ecs5probe.core import baseline as rules
from ecs5probe.errors import UsageError
from ecs5probe.model import ProbeResult


@dataclass(frozen=True)
class BaselineFile:
    """A baseline file and what it holds (None: it does not exist yet and is to be written)."""

    path: str
    known: dict[str, set[str]] | None
    update: bool = False

    def regressions(self, results: Sequence[ProbeResult]) -> dict[str, list[str]]:
        """Per image, the writable paths the baseline lacks (none when it is being written)."""
        if self.known is None or self.update:
            return {}
        return rules.regressions(results, self.known)

    @property
    def gates(self) -> bool:
        return self.known is not None and not self.update

    def text(self, results: Sequence[ProbeResult]) -> str:
        """The baseline updated with ``results``, as the file's new text."""
        return json.dumps(rules.build(results, self.known), indent=2) + "\n"


def open_baseline(path: str, update: bool = False) -> BaselineFile:
    """Read ``path``; a missing file is an error unless it is to be written (``update``)."""
    if not os.path.exists(path):
        if not update:
            raise UsageError(f"--baseline: {path}: no such file (create it with --update-baseline)")
        return BaselineFile(path, None, update)
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.loads(f.read())
    except json.JSONDecodeError as e:
        raise UsageError(f"--baseline: {path}: malformed JSON: {e.msg}") from None
    except UnicodeDecodeError:
        raise UsageError(f"--baseline: {path}: not a JSON text file") from None
    return BaselineFile(path, rules.load(doc), update)
