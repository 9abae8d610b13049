"""The table people read in a terminal: one block per image, mounts in a table, findings below."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ecs5probe.model import ProbeResult
from ecs5probe.render.interface import Report
from ecs5probe.render.text import shown


def render(report: Report) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=120, highlight=False, soft_wrap=True, color_system=None)
    for r in report.results:
        status = "verified" if r.verified else "NOT verified"
        who = f"{shown(r.label)} ({shown(r.image)}, {r.user})" if r.deployment else f"{shown(r.image)} ({r.user})"
        console.print(Text(f"\n{who}: {status}: {shown(r.reason)}"))
        if r.mounts:
            t = Table(show_header=True, header_style="bold")
            for col in ("containerPath", "kind", "options", "size", "required", "evidence"):
                t.add_column(col)
            for m in r.mounts:
                ev = "; ".join(f"{e.source}: {shown(e.line)}" for e in m.evidence[:2])
                required = ("yes (degraded without it)" if m.degraded else "yes") if m.required else "no"
                t.add_row(
                    Text(shown(m.container_path)),
                    m.kind,
                    ",".join(m.mount_options) or "-",
                    f"{m.size_mib} MiB",
                    required,
                    Text(ev),
                )
            console.print(t)
            for m in r.mounts:
                if m.hides_image_content:
                    console.print(
                        Text(
                            f"{shown(m.container_path)} hides what the image ships there: "
                            f"{', '.join(shown(e) for e in m.hides_image_content)}"
                        )
                    )
        elif r.verified:
            console.print("needs no writable mount: set readonlyRootFilesystem to true as it is")
        if r.privilege is not None:
            p = r.privilege
            caps = ("drop ALL" + (f", add {', '.join(p.cap_add)}" if p.cap_add else "")) if p.cap_drop else "unchanged"
            if p.cap_add and not p.cap_drop:
                caps = f"add {', '.join(p.cap_add)}"
            sysctls = "".join(f"; sysctl {k}={v}" for k, v in p.sysctls)
            console.print(Text(f"least privilege: user {p.user or 'unchanged'}; capabilities: {caps}{sysctls}"))
            for why in p.cannot:
                console.print(Text(f"cannot: {shown(why)}"))
        for f in r.findings:
            console.print(Text(f"{f.kind}: {shown(f.message)}"))
        for t_ in r.tried:
            console.print(Text(f"tried: {shown(t_)}"))
        _not_reached(console, r)
        if report.regressions.get(r.image):
            console.print(
                Text(
                    "REGRESSION: new writable path(s) not in the baseline: "
                    + ", ".join(shown(p) for p in report.regressions[r.image])
                )
            )
        console.print(f"{len(r.runs)} runs, {r.duration_seconds:.1f}s")
        if r.cached is not None:
            console.print(Text(r.cached.note))
    return buf.getvalue()


def _not_reached(console: Console, r: ProbeResult) -> None:
    """What no run wrote, and what the verdict rests on."""
    for u in r.unexercised:
        console.print(Text(f"unexercised: {shown(u.path)}: {shown(u.reason)} (no run wrote it: exercise it next)"))
    if r.unexercised_more:
        console.print(Text(f"unexercised: {r.unexercised_more} more"))
    if r.basis is not None:
        console.print(Text(f"rests on: {shown(r.basis.summary())}"))
