"""Markdown summary (GitHub step summary, PR comments)."""

from __future__ import annotations

from ecs5probe.render.interface import Report
from ecs5probe.render.text import md_code, md_text


def render(report: Report) -> str:
    rs = report.results
    ok = sum(not report.failed(r) for r in rs)
    lines = [
        "## ecs5probe: read-only root filesystem (ECS.5)",
        "",
        f"{ok} of {len(rs)} image(s) pass.",
        "",
        "| image | result | writable mounts needed | runs | seconds |",
        "|---|---|---|---:|---:|",
    ]
    for r in rs:
        if not r.verified:
            result = "❌ cannot run read-only"
        elif report.regressions.get(r.image):
            result = "❌ new writable path(s): " + ", ".join(md_code(p) for p in report.regressions[r.image])
        else:
            result = "✅ verified"
        mounts = (
            ", ".join(
                f"{md_code(m.container_path)} ({m.kind}{', degraded without it' if m.degraded else ''})"
                for m in r.required_mounts
            )
            or "none"
        )
        lines.append(f"| {md_code(r.label)} | {result} | {mounts} | {len(r.runs)} | {r.duration_seconds:.1f} |")
    for r in rs:
        if not r.verified:
            lines += ["", f"**{md_code(r.label)}**: {md_text(r.reason)}"]
    for r in rs:
        if r.basis is not None:
            lines += ["", f"**{md_code(r.label)}** rests on: {md_text(r.basis.summary())}."]
        if r.unexercised:
            more = f" and {r.unexercised_more} more" if r.unexercised_more else ""
            shown = ", ".join(f"{md_code(u.path)} ({md_text(u.reason)})" for u in r.unexercised)
            lines += ["", f"**{md_code(r.label)}**: no run wrote {shown}{more}: exercise them next."]
    cached = [r for r in rs if r.cached is not None]
    if cached:
        lines += ["", f"{len(cached)} of {len(rs)} result(s) from the cache (no container started):"]
        lines += [
            f"- {md_code(r.label)}: probed {md_text(r.cached.probed_at)} by ecs5probe {md_text(r.cached.version)}"
            for r in cached
            if r.cached is not None
        ]
    return "\n".join(lines) + "\n"
