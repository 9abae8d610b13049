"""A container's output in bounded memory, however much it printed."""

from __future__ import annotations

import collections
import re
from collections.abc import Iterator

#: Log lines worth keeping from a run whatever its size: what the log parsers and limit checks read.
_EVIDENCE_HINT = re.compile(
    rb"(?i)read-only|erofs|errno|permission denied|denied|no such file|nonexistent|"
    rb"not a directory|fork|resource temporarily|native thread|pthread|os error|failed|cannot|"
    rb"can't|unable|temporary|directory"
)
LOG_TAIL_LINES = 400
LOG_KEEP_LINES = 20_000
LOG_LINE_BYTES = 4096


def bounded_logs(chunks: Iterator[bytes]) -> str:
    """A run's output in bounded memory, however much it printed: every line that may be evidence
    (up to 20,000, each cut at 4 KiB, in order), then the last 400 other lines."""
    kept: list[bytes] = []
    tail: collections.deque[bytes] = collections.deque(maxlen=LOG_TAIL_LINES)
    partial = b""
    dropped = 0

    def take(line: bytes) -> None:
        nonlocal dropped
        line = line[:LOG_LINE_BYTES]
        if _EVIDENCE_HINT.search(line) and len(kept) < LOG_KEEP_LINES:
            kept.append(line)
            tail.append(b"")  # already kept: only a placeholder keeps the tail's order
        else:
            dropped += 1
            tail.append(line)

    for chunk in chunks:
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()[-LOG_LINE_BYTES:]
        for line in lines:
            take(line)
    if partial:
        take(partial)
    text = b"\n".join([*kept, *(t for t in tail if t)])
    return text.decode("utf-8", "replace")
