"""Checkov, from its own virtualenv (made once per machine and cached): it pins old botocore/packaging
and ships its own `hcl2` module (bc-python-hcl2), which would overwrite python-hcl2's files."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

VENV = Path(os.environ.get("ECS5PROBE_CHECKOV_VENV", Path.home() / ".cache" / "ecs5probe-checkov"))
PASSED, FAILED = "PASSED", "FAILED"


@pytest.fixture(scope="session")
def checkov() -> str:
    """Each test process asks for it (session fixtures are per xdist worker): on a fresh machine the
    first makes it while the others wait on a lock (side by side, their `venv`s clashed: ensurepip
    failed in one, and its checkov tests errored)."""
    exe = VENV / "bin" / "checkov"
    VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(VENV.parent / f".{VENV.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not exe.exists():  # --clear: a venv left half made by an interrupted run is made anew
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
            pins = Path(__file__).resolve().parents[2] / ".ci" / "constraints-checkov.txt"  # the versions that passed
            pip = [str(VENV / "bin" / "pip"), "install", "-q", "-c", str(pins), "checkov"]
            subprocess.run(pip, check=True, timeout=900)
    return str(exe)


def run_checkov(exe: str, directory: Path, check: str = "CKV_AWS_336", framework: str = "") -> dict[str, str]:
    """Checkov's verdict per resource for one check over a directory."""
    extra = ["--framework", framework] if framework else []
    out = subprocess.run(
        [exe, "-d", str(directory), "--check", check, *extra, "-o", "json", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    doc = json.loads(out.stdout)
    doc = doc[0] if isinstance(doc, list) else doc
    res = doc["results"]
    return {
        **{c["resource"]: PASSED for c in res.get("passed_checks", [])},
        **{c["resource"]: FAILED for c in res.get("failed_checks", [])},
    }
