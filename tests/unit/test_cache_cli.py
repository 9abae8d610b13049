"""The result cache through the CLI and in every report format; a deployment's result cached whole."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from ecs5probe.app import cache as store
from ecs5probe.app import probing
from ecs5probe.core.deployment import Deployment, Member
from ecs5probe.core.options import ContainerSettings, ProbeOptions
from ecs5probe.core.together import DeploymentResult, MemberResult
from ecs5probe.model import Cached, ContainerKind, Mount, ProbeResult, RunRecord
from ecs5probe.platforms import to_platform
from ecs5probe.render.formats import ReportFormat
from ecs5probe.render.interface import Report
from tests.fakes import HEALTH, RUNTIME, FakeApp, FakeRuntime, cli_invoke, fs, image

ID = "sha256:" + "c" * 64


@pytest.fixture
def rt(monkeypatch) -> FakeRuntime:
    fake = FakeRuntime(image(health=HEALTH, id=ID), fs("/run", "/etc"), FakeApp(writes=["/run/app.pid"]))
    monkeypatch.setitem(RUNTIME, "factory", lambda: fake)
    return fake


def test_probe_twice_the_second_from_the_cache_in_every_format(rt: FakeRuntime, tmp_path: Path) -> None:
    first = cli_invoke(["probe", "app:1", "--format", "json", "-q"])
    assert first.exit_code == 0, first.output
    assert "cached" not in json.loads(first.stdout)
    runs = len(rt.specs)
    out = {f: tmp_path / f"r.{f}" for f in ("markdown", "junit", "sarif", "table")}
    reports = [a for f, p in out.items() for a in ("--report", f"{f}={p}")]
    again = cli_invoke(["probe", "app:1", "--format", "json", "-q", *reports])
    assert again.exit_code == 0, again.output
    assert len(rt.specs) == runs
    doc = json.loads(again.stdout)
    assert set(doc["cached"]) == {"probedAt", "version"}
    assert doc["mounts"] == json.loads(first.stdout)["mounts"]
    assert "cached: probed" in out["table"].read_text() and "from the cache" in out["markdown"].read_text()
    props = ET.fromstring(out["junit"].read_text()).findall("testcase/properties/property")
    assert {p.get("name") for p in props} == {"ecs5probe.cachedAt", "ecs5probe.cachedBy"}
    sarif = json.loads(out["sarif"].read_text())["runs"][0]
    assert sarif["properties"]["ecs5probe.cached"]["app:1"]["version"] == doc["cached"]["version"]
    assert all("ecs5probe.cachedAt" in r["properties"] for r in sarif["results"])


def test_no_cache_probes_again_and_cache_dir_chooses_the_directory(rt: FakeRuntime, tmp_path: Path) -> None:
    assert cli_invoke(["probe", "app:1", "-q", "--cache-dir", str(tmp_path / "c")]).exit_code == 0
    assert list(store.Store(tmp_path / "c").files())
    runs = len(rt.specs)
    assert cli_invoke(["probe", "app:1", "-q", "--cache-dir", str(tmp_path / "c"), "--no-cache"]).exit_code == 0
    assert len(rt.specs) > runs
    runs = len(rt.specs)
    assert cli_invoke(["probe", "app:1", "-q", "--cache-dir", str(tmp_path / "c")]).exit_code == 0
    assert len(rt.specs) == runs


def test_the_environment_and_the_config_file_name_the_directory(rt: FakeRuntime, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECS5PROBE_CACHE_DIR", str(tmp_path / "env"))
    assert cli_invoke(["probe", "app:1", "-q"]).exit_code == 0
    assert list(store.Store(tmp_path / "env").files())
    monkeypatch.delenv("ECS5PROBE_CACHE_DIR")
    conf = tmp_path / "conf.yaml"
    conf.write_text(f"cache-dir: {tmp_path / 'conf'}\n")
    assert cli_invoke(["probe", "app:1", "-q", "--config", str(conf)]).exit_code == 0
    assert list(store.Store(tmp_path / "conf").files())


def test_a_baseline_gate_on_a_cached_run_exits_as_on_a_fresh_one(rt: FakeRuntime, tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"version": 1, "images": {"app:1": []}}))  # /run is new: the gate fails
    fresh = cli_invoke(["probe", "app:1", "-q", "--baseline", str(base)])
    cached = cli_invoke(["probe", "app:1", "-q", "--baseline", str(base)])
    assert "cached: probed" in cached.stdout
    assert fresh.exit_code == cached.exit_code == 1
    base.write_text(json.dumps({"version": 1, "images": {"app:1": ["/run"]}}))
    assert cli_invoke(["probe", "app:1", "-q", "--baseline", str(base)]).exit_code == 0


def test_cache_prune_and_clear(rt: FakeRuntime, tmp_path: Path) -> None:
    d = str(tmp_path / "c")
    assert cli_invoke(["probe", "app:1", "-q", "--cache-dir", d]).exit_code == 0
    r = cli_invoke(["cache", "prune", "--cache-dir", d])
    assert r.exit_code == 0 and "removed 0 entries" in r.output
    r = cli_invoke(["cache", "prune", "--cache-dir", d, "--older-than", "0"])
    assert r.exit_code == 0 and "removed 1 entry" in r.output
    assert cli_invoke(["probe", "app:1", "-q", "--cache-dir", d]).exit_code == 0
    r = cli_invoke(["cache", "clear"], env={"ECS5PROBE_CACHE_DIR": d})
    assert r.exit_code == 0 and "removed 1 entry" in r.output and not list(store.Store(d).files())


def test_a_cached_result_keeps_every_format_valid() -> None:
    from tests.formats import check_every_format

    m = Mount("/var/lib/app data|x", reason="r")
    r = ProbeResult("app:1", True, mounts=[m], cached=Cached("2026-12-07T09:00:00+00:00", "1.2.3"))
    check_every_format(r)
    for f in ReportFormat:
        f.to_renderer()(Report([r]))  # every format renders a cached result


# -- a deployment --------------------------------------------------------------------------------
class _Ids:
    """A runtime that only identifies images (the deployment's probe itself is replaced)."""

    def __init__(self, ids: dict[str, str]):
        self.ids = ids

    def inspect(self, name: str):
        return image(name, id=self.ids[name])

    def tracer(self) -> tuple[bool, str]:
        return True, "strace (fake)"


def _deployment_result(d: Deployment) -> DeploymentResult:
    def result(image: str) -> ProbeResult:
        return ProbeResult(
            image, True, mounts=[Mount("/run")], runs=[RunRecord("verify", True, ("/run",), True, "", 1)]
        )

    return DeploymentResult(
        d.name,
        [MemberResult(m.name, ContainerKind.CONTAINER, result(m.image)) for m in d.members],
        True,
        "ok",
        [RunRecord("together", True, (), True, "", 2)],
    )


def test_a_deployment_is_cached_whole_by_the_document_and_each_member_image(tmp_path: Path, monkeypatch) -> None:
    calls: list[str] = []

    def fake_probe(runtime, d, base, semantics, observer=None, attach=None):
        calls.append(d.name)
        return _deployment_result(d)

    monkeypatch.setattr(probing.core_together, "probe_deployment", fake_probe)
    opts = ProbeOptions(jobs=1, cache_dir=str(tmp_path))
    d = Deployment("task", (Member("web", "web:1"), Member("side", "side:1")))
    ids = _Ids({"web:1": "sha256:1", "side:1": "sha256:2"})
    ecs = to_platform(opts.platform)
    first = probing.probe_deployment(ids, d, opts, ecs)  # type: ignore[arg-type]
    again = probing.probe_deployment(ids, d, opts, ecs)  # type: ignore[arg-type]
    assert calls == ["task"]
    assert again.members[0].result.cached is not None and again.verified
    assert replace(again.members[0].result, cached=None) == first.members[0].result and again.runs == first.runs
    ids.ids["side:1"] = "sha256:3"  # one member rebuilt
    probing.probe_deployment(ids, d, opts, ecs)  # type: ignore[arg-type]
    changed = replace(d, members=(Member("web", "web:1", ContainerSettings(memory_mib=256)), d.members[1]))
    probing.probe_deployment(ids, changed, opts, ecs)  # type: ignore[arg-type]
    probing.probe_deployment(ids, changed, opts, ecs, attach="deps")  # type: ignore[arg-type]
    probing.probe_deployment(ids, changed, opts, ecs, attach="deps")  # type: ignore[arg-type]
    assert calls == ["task"] * 5, "a rebuilt member, a changed document, an outside network: probed"


ROOT = Path(__file__).resolve().parents[2]


def test_the_action_and_the_examples_restore_and_save_the_cache_keyed_on_the_version() -> None:
    import yaml

    steps = yaml.safe_load((ROOT / "action.yml").read_text())["runs"]["steps"]
    uses = [s for s in steps if "actions/cache" in s.get("uses", "")]
    assert [s["uses"] for s in uses] == ["actions/cache/restore@v4", "actions/cache/save@v4"]
    for s in uses:
        assert s["with"]["path"] == "~/.cache/ecs5probe/results" and "steps.version.outputs.version" in s["with"]["key"]
    assert "!cancelled()" in uses[1]["if"], "a failing probe's verified results are saved too"
    (probe,) = [s for s in steps if s.get("id") == "probe"]
    assert steps.index(uses[0]) < steps.index(probe) < steps.index(uses[1])
    for name in ("github-actions.yml", "github-actions-matrix.yml"):
        text = (ROOT / "examples" / name).read_text()
        assert "actions/cache/restore@v4" in text and "actions/cache/save@v4" in text and "--version" in text
    for name in ("gitlab-ci.yml", "gitlab-ci-matrix.yml"):
        job = yaml.safe_load((ROOT / "examples" / name).read_text())["ecs5probe"]
        assert job["cache"]["when"] == "always" and "$ECS5PROBE_VERSION" in job["cache"]["key"]
        assert job["variables"]["ECS5PROBE_CACHE_DIR"].endswith(".ecs5probe-cache")
        assert job["cache"]["paths"] == [".ecs5probe-cache/results"]


def test_fix_and_probe_file_use_the_cache_keyed_on_how_the_document_runs_the_container(monkeypatch, tmp_path) -> None:
    fake = FakeRuntime(image("local/web:1", health=HEALTH, id=ID), fs("/run"), FakeApp(writes=["/run/app.pid"]))
    monkeypatch.setitem(RUNTIME, "factory", lambda: fake)
    src = tmp_path / "td.json"
    td = {"family": "f", "containerDefinitions": [{"name": "a", "image": "local/web:1"}]}
    src.write_text(json.dumps(td))
    assert cli_invoke(["fix", str(src), "--dry-run", "-q"]).exit_code == 0
    runs = len(fake.specs)
    again = cli_invoke(["probe", str(src), "--format", "json", "-q"])  # the same container, as fix probes it
    assert again.exit_code == 0 and len(fake.specs) == runs
    doc = json.loads(again.stdout)
    assert doc["cached"] and doc["container"] == "a" and doc["deployment"] == "f"
    td["containerDefinitions"][0]["command"] = ["serve", "--fast"]  # the document runs it otherwise
    src.write_text(json.dumps(td))
    assert cli_invoke(["fix", str(src), "--dry-run", "-q"]).exit_code == 0
    assert len(fake.specs) > runs
