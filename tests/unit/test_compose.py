"""Compose: read_only verdicts, run options, storage semantics, the patched file and the override file."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import Mount
from ecs5probe.platforms import get, read

DATA = Path(__file__).resolve().parents[1] / "data" / "compose"
COMPOSE = get("compose")
MOUNTS = {
    "web": [Mount("/var/cache/nginx", "tmpfs", ("uid=101", "gid=101", "mode=0755")), Mount("/run")],
    "worker": [Mount("/app/state", "volume"), Mount("/scratch", "bind", size_mib=4096)],
}


def _doc(tmp_path: Path):
    f = tmp_path / "docker-compose.yml"
    f.write_text((DATA / "docker-compose.yml").read_text())
    (doc,) = read(f)
    return doc


def test_verdicts_per_service(tmp_path) -> None:
    doc = _doc(tmp_path)
    assert doc.platform == "compose"
    got = {v.container: (v.verdict, v.reason) for v in COMPOSE.evaluate(doc.body, ["read_only"])}
    assert got == {
        "web": ("FAILED", "read_only is absent"),
        "cache": ("PASSED", "read_only is true"),
        "worker": ("FAILED", "read_only is false"),
    }


def test_run_options_as_compose_runs_them(tmp_path) -> None:
    opts = {c.name: c.settings for c in COMPOSE.deployment(_doc(tmp_path).body, "app").members}
    assert opts["web"].command == ("nginx", "-g", "daemon off;")
    assert opts["web"].environment == ("MODE=prod",)  # FROM_SHELL comes from the shell: unknown here
    h = opts["web"].health
    assert h is not None and h.test[0] == "CMD-SHELL" and (h.interval, h.timeout, h.start_period) == (10, 2, 60)
    assert opts["cache"].user == "999:999"
    assert dict(opts["cache"].docker_options or ()) == {"cap_drop": ["ALL"], "mem_limit": "256m"}
    assert opts["worker"].entrypoint == ("/app/worker", "--queue", "jobs") and opts["worker"].workdir == "/app"


def test_storage_semantics() -> None:
    t = COMPOSE.mount_spec(Mount("/run", "tmpfs", ("uid=101", "mode=0755")), [])
    assert t.kind == "tmpfs" and t.options == ("uid=101", "mode=0755") and not t.copy_content
    assert COMPOSE.mount_spec(Mount("/data", "volume"), []).copy_content  # a named volume copies
    assert not COMPOSE.mount_spec(Mount("/data", "bind"), ["/data"]).copy_content  # nocopy: empty


def test_patched_file_keeps_comments_and_passes_docker_compose_config(tmp_path) -> None:
    doc = _doc(tmp_path)
    patched, notes = COMPOSE.patch(doc.body, MOUNTS)
    text = COMPOSE.write([doc], [patched], "yaml")
    assert text.startswith("# shop: web and cache") and "# built by CI" in text
    out = yaml.safe_load(text)
    web, worker = out["services"]["web"], out["services"]["worker"]
    assert web["read_only"] is True and worker["read_only"] is True
    assert web["tmpfs"] == ["/tmp", "/var/cache/nginx:uid=101,gid=101,mode=0755,size=64m", "/run:size=64m"]
    assert worker["volumes"][0] == "worker-app-state:/app/state"
    assert worker["volumes"][1]["volume"] == {"nocopy": True}
    assert set(out["volumes"]) == {"worker-app-state", "worker-scratch"}
    assert "read_only" not in doc.body["services"]["web"]  # the input is untouched
    _config_ok(tmp_path, text)


def test_override_file_adds_only_what_is_needed(tmp_path) -> None:
    doc = _doc(tmp_path)
    patched, _ = COMPOSE.patch(doc.body, MOUNTS)
    override = yaml.safe_load(COMPOSE.write([doc], [patched], "override"))
    assert override["services"]["web"] == {
        "read_only": True,
        "tmpfs": ["/var/cache/nginx:uid=101,gid=101,mode=0755,size=64m", "/run:size=64m"],
    }
    assert override["services"]["cache"] == {"read_only": True}
    assert set(override["volumes"]) == {"worker-app-state", "worker-scratch"}
    merged = _config_ok(tmp_path, (tmp_path / "docker-compose.yml").read_text(), override)
    assert merged["services"]["web"]["read_only"] is True
    assert "/var/cache/nginx:uid=101,gid=101,mode=0755,size=64m" in merged["services"]["web"]["tmpfs"]


def test_a_service_without_an_image_is_an_error() -> None:
    with pytest.raises(TaskDefinitionError, match="no image"):
        COMPOSE.deployment({"services": {"app": {"build": "."}}}, "app")


def _config_ok(tmp_path: Path, text: str, override: dict | None = None) -> dict:
    """`docker-compose config` accepts the file (and the override merged on top)."""
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is needed (Debian: apt-get install docker-compose)"
    d = tmp_path / "project"
    d.mkdir(exist_ok=True)
    (d / "docker-compose.yml").write_text(text)
    args = [exe, "-f", "docker-compose.yml"]
    if override is not None:
        (d / "docker-compose.override.yml").write_text(yaml.safe_dump(override))
        args += ["-f", "docker-compose.override.yml"]
    r = subprocess.run([*args, "config"], cwd=d, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return yaml.safe_load(r.stdout)
