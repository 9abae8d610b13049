"""The CI examples' configuration file on real containers: each sample probed with its own settings
(a job as a job, redis exercised where it writes), none on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecs5probe import cli

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_example_config_probes_every_image_with_its_own_settings(built_samples, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    r = CliRunner().invoke(cli.main, ["probe", "--config", "examples/.ecs5probe.yaml", "--format", "json", "-q"])
    assert r.exit_code == 0, r.output
    results = {d["image"]: d for d in json.loads(r.stdout)}
    for name in ("03-pidfile", "10-job", "12-nginx", "14-redis"):
        got = results[f"ecs5probe-sample/{name}:latest"]
        expected = built_samples[name].expected
        assert got["verified"], (name, got["reason"])
        assert sorted(m["containerPath"] for m in got["mounts"] if m["required"]) == sorted(expected["required"]), name
    # redis writes its dump only because of its exercise, a job is judged by its exit code
    assert "/var/lib/redis" in [m["containerPath"] for m in results["ecs5probe-sample/14-redis:latest"]["mounts"]]
