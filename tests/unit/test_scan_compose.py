"""Compose as docker compose reads it, in scan and fix alike: .env and environment interpolation,
``$$``, anchors, ``extends``, several files, profiles; suppressions; each service at its own line."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.platforms import get
from ecs5probe.platforms.compose import project, resolve
from tests.fakes import cli_invoke

SHOP = Path(__file__).resolve().parents[1] / "data" / "scan" / "compose" / "shop"


@pytest.fixture(autouse=True)
def _builtin(monkeypatch) -> None:
    monkeypatch.setenv("ECS5PROBE_COMPOSE", "builtin")
    monkeypatch.delenv("COMPOSE_PROFILES", raising=False)
    for name in ("TAG", "APP_UID", "READ_ONLY", "NGINX_TAG"):
        monkeypatch.delenv(name, raising=False)
    resolve._docker_compose_v2.cache_clear()


def _rows(*args: str) -> dict[tuple[str, str], dict]:
    r = cli_invoke(["scan", *args, "--format", "json"])
    assert r.exit_code in (0, 1), r.output
    return {(x["container"], x["control"]): x for x in json.loads(r.stdout) if "control" in x}


def test_interpolation_extends_and_anchors_as_compose_reads_them() -> None:
    rows = _rows(str(SHOP / "compose.yaml"))
    v = {k: x["verdict"] for k, x in rows.items()}
    assert rows[("web", "user")]["reason"] == "user is '10001:0'"  # ${APP_UID:-50000} from .env
    assert v[("web", "read_only")] == "PASSED"  # ${READ_ONLY:-false} from .env, through an anchor
    assert v[("api", "read_only")] == "PASSED" and rows[("api", "user")]["reason"] == "user is '65534'"  # file:
    assert v[("worker", "read_only")] == "PASSED" and v[("worker", "user")] == "FAILED"  # extends api
    assert v[("db", "read_only")] == "FAILED"


def test_the_environment_wins_over_dotenv(monkeypatch) -> None:
    monkeypatch.setenv("APP_UID", "0")
    assert _rows(str(SHOP / "compose.yaml"))[("web", "user")]["verdict"] == "FAILED"


def test_each_service_at_its_own_line_and_key() -> None:
    rows = _rows(str(SHOP / "compose.yaml"))
    lines = (SHOP / "compose.yaml").read_text().splitlines()
    for name in ("web", "api", "worker", "debug", "db"):
        assert lines[rows[(name, "read_only")]["line"] - 1].strip() == f"{name}:"
    assert lines[rows[("debug", "privileged")]["keyLine"] - 1].strip() == "privileged: true"
    r = cli_invoke(["scan", str(SHOP / "compose.yaml"), "--format", "sarif", "--control", "privileged"])
    at = {
        x["locations"][0]["logicalLocations"][0]["name"]: x["locations"][0]["physicalLocation"]["region"]["startLine"]
        for x in json.loads(r.stdout)["runs"][0]["results"]
    }
    assert at == {"api": 23, "worker": 25, "debug": 33}


def test_suppressions_by_label_and_extension_carry_their_reason() -> None:
    rows = _rows(str(SHOP / "compose.yaml"))
    assert rows[("db", "read_only")]["justification"].startswith("postgres writes its data")
    assert rows[("api", "privileged")]["justification"].endswith("SEC-7")
    assert rows[("debug", "privileged")]["suppressed"] is False


def test_several_files_merged_in_order_and_profiles() -> None:
    rows = _rows(str(SHOP / "compose.yaml"), "--compose-file", str(SHOP / "compose.prod.yml"))
    assert rows[("db", "user")]["verdict"] == "PASSED"
    assert ("debug", "read_only") in rows  # no profile named: every service is judged
    only = _rows(str(SHOP / "compose.yaml"), "--profile", "ops")
    assert ("debug", "read_only") not in only and ("web", "read_only") in only
    assert ("debug", "read_only") in _rows(str(SHOP / "compose.yaml"), "--profile", "debug")


def test_a_required_variable_unset_is_a_clear_error(tmp_path) -> None:
    shutil.copytree(SHOP, tmp_path / "p")
    (tmp_path / "p" / ".env").write_text("APP_UID=1\n")
    r = cli_invoke(["scan", str(tmp_path / "p" / "compose.yaml")])
    assert r.exit_code == 2 and "required variable TAG is missing a value: set TAG in .env" in r.stderr


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("${A:+alt}", {"A": "x"}, "alt"),
        ("$$A and $${B}", {"A": "1"}, "$A and ${B}"),
        ("$A/${B:-${C:-z}}", {"A": "a"}, "a/z"),
        ("cost: 5$", {}, "cost: 5$"),
    ],
)
def test_interpolation(text, env, expected) -> None:
    assert resolve.interpolate(text, env) == expected


def test_required_variable() -> None:
    with pytest.raises(TaskDefinitionError, match="required variable A is missing a value: no A"):
        resolve.interpolate("${A:?no A}", {})


def test_fix_runs_the_command_compose_runs(monkeypatch) -> None:
    """``$$UPSTREAM`` is Compose's literal ``$UPSTREAM`` for the shell: the probe must run that."""
    (doc,) = get("compose").read(SHOP / "compose.yaml", (SHOP / "compose.yaml").read_text(), True)
    runs = {c.name: c for c in get("compose").deployment(doc.body, doc.name).members}
    assert 'echo "upstream $UPSTREAM" > /tmp/up.conf' in runs["web"].settings.command[2]
    assert runs["web"].image == "nginx:1.27" and runs["api"].image == "shop/api:1.4.2"
    assert runs["web"].settings.user == "10001:0"
    # the written file keeps what the user wrote
    assert "$$UPSTREAM" in json.dumps(project.services(doc.body)["web"]["command"])


def test_docker_compose_v2_is_asked_where_installed(monkeypatch, tmp_path) -> None:
    """A fake ``docker`` on PATH stands for the v2 plugin: its model is the one judged."""
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    model = {"services": {"web": {"image": "nginx", "read_only": True, "user": "101"}}}
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = version ]; then echo "Docker Compose version v2.29.0"; exit 0; fi\n'
        f"echo '{json.dumps(model)}'\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setenv("ECS5PROBE_COMPOSE", "auto")
    resolve._docker_compose_v2.cache_clear()
    rows = _rows(str(SHOP / "compose.yaml"))
    assert {k[0] for k in rows} == {"web"} and rows[("web", "read_only")]["verdict"] == "PASSED"
    resolve._docker_compose_v2.cache_clear()


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose 1.x not installed")
def test_the_builtin_reader_agrees_with_docker_compose_config(tmp_path) -> None:
    """docker-compose 1.29's own ``config`` (no Docker daemon needed) resolves the same values."""
    import yaml as _yaml  # type: ignore[import-untyped]

    shop = tmp_path / "shop"
    shutil.copytree(SHOP, shop)
    text = (shop / "compose.yaml").read_text().replace("name: shop\n", "")  # 1.29 knows no top-level name
    (shop / "compose.yaml").write_text(text)
    done = subprocess.run(
        ["docker-compose", "-f", "compose.yaml", "--profile", "debug", "config"],
        capture_output=True,
        text=True,
        cwd=shop,
        env={"PATH": "/usr/bin:/bin"},
    )
    if done.returncode != 0:
        pytest.skip(f"docker-compose config: {done.stderr[:200]}")
    theirs = _yaml.safe_load(done.stdout)["services"]
    (doc,) = get("compose").read(shop / "compose.yaml", text, True)
    ours = project.resolved(doc.body)
    for name in ("web", "api", "worker", "db"):
        for key in ("image", "user", "read_only", "privileged"):
            assert ours[name].get(key) == theirs[name].get(key), (name, key)
    # its output escapes a literal $ again ($$); the value it runs has one
    assert [c.replace("$$", "$") for c in theirs["web"]["command"]] == ours["web"]["command"]


def test_fix_probes_the_command_compose_runs_not_its_escape(monkeypatch, tmp_path) -> None:
    """End to end through ``fix`` (a fake runtime): the probed command has ``$UPSTREAM`` for the shell,
    never ``$$UPSTREAM`` (the shell's PID); the written file keeps the user's ``$$``."""
    from tests.fakes import HEALTH, RUNTIME, FakeApp, FakeRuntime, fs, image

    rt = FakeRuntime(image("local/web:1", health=HEALTH), fs("/run"), FakeApp(writes=["/run/app.pid"]))
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    src = tmp_path / "compose.yaml"
    src.write_text(
        "services:\n  web:\n    image: local/web:${TAG:-1}\n"
        '    command: ["/bin/sh", "-c", "echo $$UPSTREAM > /run/up && exec serve"]\n'
    )
    out = tmp_path / "fixed.yaml"
    r = cli_invoke(["fix", str(src), "-o", str(out), "-q", "--pull", "never"])
    assert r.exit_code == 0, r.output
    commands = {spec.command for spec in rt.specs if spec.command}
    assert commands == {("/bin/sh", "-c", "echo $UPSTREAM > /run/up && exec serve")}
    assert "$$UPSTREAM" in out.read_text() and "${TAG:-1}" in out.read_text()


def test_included_files_bring_their_services() -> None:
    rows = _rows(str(SHOP.parent / "include" / "compose.yaml"), "--control", "read_only")
    assert {k: v["verdict"] for k, v in rows.items()} == {("db", "read_only"): "FAILED", ("app", "read_only"): "PASSED"}


def test_the_default_override_file_is_merged_as_docker_compose_does() -> None:
    here = SHOP.parent / "override"
    walked = _rows(str(here), "--control", "read_only")
    assert {k: v["verdict"] for k, v in walked.items()} == {
        ("web", "read_only"): "PASSED",
        ("cache", "read_only"): "FAILED",
    }
    assert {Path(v["file"]).name for v in walked.values()} == {"docker-compose.yml"}  # the override is no project
    named = _rows(str(here / "docker-compose.yml"), "--control", "read_only")
    assert named[("web", "read_only")]["verdict"] == "PASSED"


def test_dash_f_as_docker_compose_has_it() -> None:
    rows = _rows("-f", str(SHOP / "compose.yaml"), "-f", str(SHOP / "compose.prod.yml"), "--control", "user")
    assert rows[("db", "user")]["verdict"] == "PASSED" and rows[("db", "user")]["file"].endswith("compose.yaml")
