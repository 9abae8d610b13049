"""Paths shown to people: control characters escaped, and safe inside markdown tables and code spans."""

from __future__ import annotations

_CONTROL = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(text: str) -> str:
    """``text`` on one line: newlines, tabs and other control characters written as escapes."""
    out = []
    for ch in text:
        if ch in _CONTROL:
            out.append(_CONTROL[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def md_code(text: str) -> str:
    """A markdown code span that keeps its table cell: pipes escaped, backticks fenced by a longer run."""
    body = shown(text).replace("|", "\\|")
    if "`" not in body:
        return f"`{body}`"
    fence = "`" * (max(len(run) for run in _runs(body)) + 1)
    return f"{fence} {body} {fence}"


def md_text(text: str) -> str:
    """Plain text inside a markdown table cell."""
    return shown(text).replace("|", "\\|")


def _runs(body: str) -> list[str]:
    runs, cur = [], ""
    for ch in body:
        if ch == "`":
            cur += ch
        elif cur:
            runs.append(cur)
            cur = ""
    if cur:
        runs.append(cur)
    return runs
