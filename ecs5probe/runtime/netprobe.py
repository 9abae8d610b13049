"""Kubernetes httpGet and tcpSocket probes, checked as kubelet would: from outside the container, over
its network. A helper container shares the probed container's network namespace (still no outside
network) and runs the check as its own Docker health check, with this machine's static busybox
(built once per machine into ``ecs5probe/netcheck:<digest>``, FROM scratch)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ecs5probe.model import HTTP_GET, HealthSpec
from ecs5probe.runtime.args import healthcheck
from ecs5probe.runtime.images import build_image, image_exists
from ecs5probe.runtime.session import Session

BUSYBOX = "/busybox"


class NetcheckUnavailable(Exception):
    """No static busybox on this machine (the message says how to get one)."""


def static_busybox() -> Path:
    found = shutil.which("busybox")
    if not found:
        raise NetcheckUnavailable("no busybox on this machine (apt-get install busybox-static)")
    path = Path(found).resolve()
    ldd = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False)
    if "not a dynamic executable" not in ldd.stdout + ldd.stderr and "statically linked" not in ldd.stdout:
        raise NetcheckUnavailable(f"{path} is not statically linked (apt-get install busybox-static)")
    return path


def image(session: Session) -> str:
    """The helper image's tag, built on first use."""
    busybox = static_busybox()
    tag = f"ecs5probe/netcheck:{hashlib.sha256(busybox.read_bytes()).hexdigest()[:12]}"
    if not image_exists(session, tag):
        with tempfile.TemporaryDirectory(prefix="ecs5probe-netcheck-") as ctx:
            shutil.copy2(busybox, Path(ctx) / "busybox")
            (Path(ctx) / "Dockerfile").write_text(
                f'FROM scratch\nCOPY busybox {BUSYBOX}\nLABEL ecs5probe.helper="netcheck"\n'
            )
            build_image(session, ctx, tag)
    return tag


def check_argv(h: HealthSpec) -> list[str]:
    """The busybox command that succeeds when the probe would (HTTP 200-399; a TCP connect)."""
    if h.test[0] == HTTP_GET:
        url, headers = h.test[1], h.test[2:]
        # No -T: Debian's busybox 1.35 wget crashes with it (SIGSEGV); Docker's health timeout bounds it.
        argv = [BUSYBOX, "wget", "-q", "-O", "/dev/null"]
        for header in headers:
            argv += ["--header", header]
        if url.startswith("https:"):
            argv.append("--no-check-certificate")  # kubelet does not verify either
        return [*argv, url]
    return [BUSYBOX, "nc", "-w", str(max(int(h.timeout), 1)), "127.0.0.1", h.test[1], "-e", BUSYBOX, "true"]


def create_kwargs(tag: str, app_id: str, h: HealthSpec, labels: dict[str, str]) -> dict[str, Any]:
    """The helper: sleeps in the app's network namespace; its health is the app's readiness."""
    check = HealthSpec(("CMD", *check_argv(h)), h.interval, h.timeout, h.retries, h.start_period)
    return {
        "image": tag,
        "entrypoint": [BUSYBOX, "sleep", "2147483647"],
        "detach": True,
        "network_mode": f"container:{app_id}",
        "labels": labels,
        "healthcheck": healthcheck(check),
        "security_opt": ["no-new-privileges"],
        "cap_drop": ["ALL"],
        "read_only": True,
        "mem_limit": "64m",
        "pids_limit": 64,
    }
