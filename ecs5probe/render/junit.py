"""JUnit XML: one testcase per image; a failure names the writable mounts it lacks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ecs5probe.render.interface import Report


def render(report: Report) -> str:
    rs = report.results
    failures = sum(report.failed(r) for r in rs)
    suite = ET.Element(
        "testsuite",
        name="ecs5probe",
        tests=str(len(rs)),
        failures=str(failures),
        errors="0",
        time=f"{sum(r.duration_seconds for r in rs):.3f}",
    )
    for r in rs:
        group = f"ecs5probe.{r.deployment}" if r.deployment else "ecs5probe.readonly-root"  # a deployment's own
        name = r.container or r.image
        case = ET.SubElement(suite, "testcase", classname=group, name=name, time=f"{r.duration_seconds:.3f}")
        if r.cached is not None:  # JUnit's properties of a test case: what CI servers show beside it
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="ecs5probe.cachedAt", value=r.cached.probed_at)
            ET.SubElement(props, "property", name="ecs5probe.cachedBy", value=r.cached.version)
        if report.failed(r):
            missing = report.missing(r)
            if not r.verified:
                message = f"cannot run with a read-only root filesystem: {r.reason}"
            else:
                message = "needs writable mounts the baseline does not have: " + ", ".join(missing)
            failure = ET.SubElement(case, "failure", message=message, type="ecs5probe")
            failure.text = "\n".join(
                [
                    message,
                    *(f"{m.container_path} ({m.kind}): {m.reason}" for m in r.mounts if m.container_path in missing),
                ]
            )
        out = ET.SubElement(case, "system-out")
        text = ["writable mounts: " + (", ".join(m.container_path for m in r.required_mounts) or "none")]
        if r.basis is not None:
            text.append(f"rests on: {r.basis.summary()}")
        text += [f"unexercised: {u.path}: {u.reason}" for u in r.unexercised]
        if r.unexercised_more:
            text.append(f"unexercised: {r.unexercised_more} more")
        out.text = "\n".join(text)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
