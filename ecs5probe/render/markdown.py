"""Markdown summary (GitHub step summary, PR comments)."""

from __future__ import annotations

from ecs5probe.render.interface import Report


def render(report: Report) -> str:
    rs = report.results
    ok = sum(not report.failed(r) for r in rs)
    lines = ["## ecs5probe: read-only root filesystem (ECS.5)", "",
             f"{ok} of {len(rs)} image(s) pass.", "",
             "| image | result | writable mounts needed | runs | seconds |", "|---|---|---|---:|---:|"]
    for r in rs:
        if not r.verified:
            result = "❌ cannot run read-only"
        elif report.regressions.get(r.image):
            result = "❌ new writable path(s): " + ", ".join(f"`{p}`" for p in report.regressions[r.image])
        else:
            result = "✅ verified"
        mounts = ", ".join(f"`{m.container_path}` ({m.kind})" for m in r.required_mounts) or "none"
        lines.append(f"| `{r.image}` | {result} | {mounts} | {len(r.runs)} | {r.duration_seconds:.1f} |")
    for r in rs:
        if not r.verified:
            lines += ["", f"**`{r.image}`**: {r.reason}"]
    return "\n".join(lines) + "\n"
