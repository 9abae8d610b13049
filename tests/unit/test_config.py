"""Configuration as CI users keep it: a file with per-image settings, ECS5PROBE_* environment variables,
and the documented precedence: command line > environment > per-image entry > file defaults > built-in."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ecs5probe import cli
from ecs5probe.app.config import SCHEMA_PATH
from ecs5probe.cli.config import build_schema
from tests.fakes import RUNTIME, FakeApp, FakeRuntime, cli_invoke, fs, image


class ManyImages(FakeRuntime):
    """The fake app under any image name (each probe's specs say which image they ran)."""

    def inspect(self, name: str):
        return replace(self.config, ref=name)


@pytest.fixture
def rt(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .ecs5probe.yaml or pyproject.toml of ours in force
    for var in ("ECS5PROBE_CONFIG", "ECS5PROBE_TIMEOUT", "ECS5PROBE_HEALTH_CMD", "ECS5PROBE_JOBS"):
        monkeypatch.delenv(var, raising=False)
    runtime = ManyImages(image(), fs("/run", "/etc"), FakeApp(writes=["/run/app.pid"]))
    monkeypatch.setitem(RUNTIME, "factory", lambda: runtime)
    return runtime


def observed(rt: FakeRuntime) -> dict[str, object]:
    """Per image, the writable run's spec (what the probe was told)."""
    return {s.image: s for s in rt.specs if s.observe}


CONFIG = """
timeout: 40
health-cmd: "true"
jobs: 1
images:
  - image: web:1
    timeout: 25
    exercise: ["wget -qO- http://127.0.0.1/", "true"]
  - image: worker:1
    health-cmd: "test -e /run/app.pid"
"""


def test_the_files_images_each_with_its_own_settings(rt, tmp_path) -> None:
    (tmp_path / "ci.yaml").write_text(CONFIG)
    r = cli_invoke(["probe", "--config", "ci.yaml", "--format", "json", "-q"])
    assert r.exit_code == 0, r.output
    assert [d["image"] for d in json.loads(r.stdout)] == ["web:1", "worker:1"]
    web, worker = observed(rt)["web:1"], observed(rt)["worker:1"]
    assert web.timeout == 25 and web.exercises == ("wget -qO- http://127.0.0.1/", "true")  # its entry
    assert web.health.test == ("CMD-SHELL", "true")  # the file's default
    assert worker.timeout == 40 and worker.exercises == ()  # the file's default, the built-in one
    assert worker.health.test == ("CMD-SHELL", "test -e /run/app.pid")


def test_precedence_command_line_then_environment_then_entry_then_file(rt, tmp_path, monkeypatch) -> None:
    (tmp_path / ".ecs5probe.yaml").write_text(CONFIG)  # found in the working directory
    monkeypatch.setenv("ECS5PROBE_TIMEOUT", "33")
    r = cli_invoke(["probe", "web:1", "worker:1", "-q"])
    assert r.exit_code == 0, r.output
    assert {i: s.timeout for i, s in observed(rt).items()} == {"web:1": 33, "worker:1": 33}  # env > entry
    rt.specs.clear()
    r = cli_invoke(["probe", "web:1", "worker:1", "-q", "--timeout", "50"])
    assert {i: s.timeout for i, s in observed(rt).items()} == {"web:1": 50, "worker:1": 50}  # CLI > env
    monkeypatch.delenv("ECS5PROBE_TIMEOUT")
    rt.specs.clear()
    r = cli_invoke(["probe", "web:1", "other:1", "-q"])
    assert {i: s.timeout for i, s in observed(rt).items()} == {"web:1": 25, "other:1": 40}  # entry > file
    (tmp_path / ".ecs5probe.yaml").unlink()
    rt.specs.clear()
    r = cli_invoke(["probe", "web:1", "-q"])
    assert observed(rt)["web:1"].timeout == 60  # built-in


def test_pyproject_tool_table_is_read_when_there_is_no_yaml(rt, tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.ecs5probe]\ntimeout = 45\n\n[[tool.ecs5probe.images]]\nimage = "web:1"\njob = false\n'
    )
    r = cli_invoke(["probe", "-q"])
    assert r.exit_code == 0, r.output
    assert {i: s.timeout for i, s in observed(rt).items()} == {"web:1": 45}


def test_every_option_reads_its_environment_variable(rt, monkeypatch) -> None:
    monkeypatch.setenv("ECS5PROBE_HEALTH_CMD", "test -e /run/app.pid")
    monkeypatch.setenv("ECS5PROBE_EXERCISE", "true\ntest -d /run")  # repeatable: one value per line
    monkeypatch.setenv("ECS5PROBE_FORMAT", "json")
    r = cli_invoke(["probe", "web:1", "-q"])
    assert r.exit_code == 0, r.output
    spec = observed(rt)["web:1"]
    assert spec.health.test == ("CMD-SHELL", "test -e /run/app.pid") and spec.exercises == ("true", "test -d /run")
    assert json.loads(r.stdout)["image"] == "web:1"
    for cmd in ("probe", "fix", "scan"):
        for p in cli.main.commands[cmd].params:
            longs = [o for o in getattr(p, "opts", []) if o.startswith("--") and o != "--help"]
            if longs:
                assert p.envvar == "ECS5PROBE_" + longs[0][2:].upper().replace("-", "_"), (cmd, longs[0])


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("timeot: 40\n", "unknown key 'timeot'"),
        ("timeout: soon\n", 'timeout: expected a number, got "soon"'),
        ("timeout: 0\n", "timeout: expected a number from 1"),
        ("tracer: loud\n", "tracer: expected one of auto, strace, logs, diff, no-strace"),
        ("images:\n  - image: web:1\n    health: x\n", "images[0]: unknown key 'health'"),
        ("images:\n  - timeout: 3\n", "images[0]: 'image' is a required property"),
        ("images:\n  - image: 'web :1'\n", "images[0].image"),
        ("images:\n  - image: web:1\n  - image: web:1\n", "images[1]: 'web:1' is listed twice"),
        ("images:\n  - image: web:1\n    jobs: 3\n", "images[0]: unknown key 'jobs'"),  # a whole run's option
        ("timeout: [unclosed\n", "malformed YAML"),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_key_and_nothing_is_probed(rt, tmp_path, text, said) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    r = cli_invoke(["probe", "web:1", "--config", "bad.yaml", "-q"])
    assert r.exit_code == 2 and "Traceback" not in r.output, r.output
    assert r.output.startswith("error: bad.yaml: ") and said in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and rt.specs == []


def test_a_missing_config_file_is_exit_2(rt) -> None:
    r = cli_invoke(["scan", ".", "--config", "nope.yaml"])
    assert r.exit_code == 2 and "nope.yaml: no such file" in r.output


def test_the_shipped_schema_is_the_clis_options() -> None:
    """Editors complete the file from the schema: it must list exactly the options there are."""
    assert json.loads(SCHEMA_PATH.read_text()) == build_schema(cli.main.commands)


def test_verbose_logs_every_run_and_decision_on_stderr_and_leaves_stdout_alone(rt) -> None:
    quiet = cli_invoke(["probe", "web:1", "--format", "json", "-q"])
    loud = cli_invoke(["probe", "web:1", "--format", "json", "-q", "-v"])
    assert quiet.exit_code == loud.exit_code == 0
    strip = lambda out: {k: v for k, v in json.loads(out).items() if k not in ("durationSeconds", "runs")}  # noqa: E731
    assert strip(loud.stdout) == strip(quiet.stdout)
    log = loud.stderr
    assert "run 'observe (writable)' (writable; mounts: none): passed" in log
    assert "mount /run proposed by the writable run" in log
    assert "/run: tmpfs, owner root, 64 MiB, required" in log
    assert quiet.stderr == ""


def test_baseline_and_reports_keep_working_with_per_image_settings(rt, tmp_path) -> None:
    (tmp_path / ".ecs5probe.yaml").write_text(CONFIG)
    base = tmp_path / "base.json"
    r = cli_invoke(
        ["probe", "-q", "--baseline", str(base), "--update-baseline", "--report", f"junit={tmp_path / 'j.xml'}"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(base.read_text())["images"] == {"web:1": ["/run"], "worker:1": ["/run"]}
    assert (tmp_path / "j.xml").read_text().count("<testcase") == 2
    assert cli_invoke(["probe", "-q", "--baseline", str(base)]).exit_code == 0


def test_the_ci_examples_use_a_config_file_that_validates() -> None:
    from ecs5probe.app.config import load

    root = Path(__file__).resolve().parents[2]
    conf = load(str(root / "examples" / ".ecs5probe.yaml"))
    assert conf is not None and conf.images
    for example in ("github-actions.yml", "gitlab-ci.yml"):
        assert "--config examples/.ecs5probe.yaml" in (root / "examples" / example).read_text(), example
