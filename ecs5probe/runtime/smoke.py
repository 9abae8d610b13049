"""Smoke tests from this machine: a loopback address of each run's own, the relay that publishes the
container's ports there, and the user's commands run in a shell against it.

The container under test sits on an ``internal`` Docker network (it reaches no other); a small relay
container (this machine's static busybox ``nc``) joins that network and the default bridge, publishes
``127.x.y.z:PORT`` for each port and forwards every connection to the app's own address. Traffic from
this machine only ever goes to the loopback address."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ecs5probe.core.publish import host_variable

__all__ = ["BUSYBOX", "address", "environment", "host_variable", "numbers", "relay_kwargs", "run_commands"]

#: Where the helper image (runtime/netprobe.py, static busybox FROM scratch) keeps busybox. This module
#: imports no Docker SDK: its pure parts are unit-tested in the fast tier.
BUSYBOX = "/busybox"
#: Output of a smoke test kept for the report (its end: where test runners say what failed).
OUTPUT_CHARS = 1500
RELAY_LABEL = "ecs5probe.relay"

_lock = threading.Lock()
_next = 0


def _octet_base() -> int:
    """The second octet of this process's addresses: parallel ecs5probe processes rarely share one."""
    return 16 + os.getpid() % 224


def free(host: str, ports: Sequence[int]) -> bool:
    """Whether every port can be bound on ``host`` (no other run, nor anything else, holds it)."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def address(ports: Sequence[int], is_free: Callable[[str, Sequence[int]], bool] = free) -> str:
    """A loopback address no other run of this process uses (127.x.y.z, z in 1..254), with ``ports`` free."""
    global _next
    for _ in range(4096):
        with _lock:
            n, _next = _next, _next + 1
        y, z = divmod(n % (254 * 250), 254)
        host = f"127.{_octet_base()}.{y + 1}.{z + 1}"
        if is_free(host, ports):
            return host
    raise RuntimeError("no free loopback address for the smoke tests' ports")


def numbers(ports: Sequence[str]) -> list[int]:
    return [int(p.split("/")[0]) for p in ports]


def relay_script(app_ip: str, ports: Sequence[int]) -> str:
    """One persistent ``nc`` listener per port, each connection piped to the app's same port."""
    each = [f"{BUSYBOX} nc -ll -p {p} -e {BUSYBOX} nc {app_ip} {p} &" for p in ports]
    return " ".join([*each, "wait"])


def relay_kwargs(tag: str, app_ip: str, ports: Sequence[int], host: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The relay container (created on the default bridge; the caller joins it to the app's network)."""
    return {
        "image": tag,
        "entrypoint": [BUSYBOX, "sh", "-c", relay_script(app_ip, ports)],
        "detach": True,
        "labels": {**labels, RELAY_LABEL: "1"},
        "ports": {f"{p}/tcp": (host, p) for p in ports},
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": "32m",
        "pids_limit": 256,
    }


def environment(host: str, container: str, image: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with what a smoke test is told."""
    return {
        **os.environ,
        "ECS5PROBE_HOST": host,
        "ECS5PROBE_CONTAINER": container,
        "ECS5PROBE_IMAGE": image,
        **(extra or {}),
    }


def run_commands(
    commands: Sequence[str],
    env: Mapping[str, str],
    timeout: float,
    cancelled: Callable[[], bool] = lambda: False,
    cwd: str | None = None,
) -> tuple[bool, str]:
    """Run each command in ``sh -c`` in ``cwd`` (this process's directory); the first that fails or
    outlives ``timeout`` (killed, with its whole process group) fails them all: (ok, what happened)."""
    for cmd in commands:
        ok, detail = _one(cmd, env, timeout, cancelled, cwd)
        if not ok:
            return False, detail
    return True, ""


def _one(
    cmd: str, env: Mapping[str, str], timeout: float, cancelled: Callable[[], bool], cwd: str | None
) -> tuple[bool, str]:
    t0 = time.monotonic()
    proc = subprocess.Popen(  # noqa: S602 - the user's own shell command, run as the user asked
        cmd,
        shell=True,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: a hang is killed with its children
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read(4096), b"")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    hung = False
    while proc.poll() is None:
        if time.monotonic() - t0 > timeout or cancelled():
            hung = True
            _kill(proc)
            break
        time.sleep(0.05)
    proc.wait()
    reader.join(timeout=2)
    text = b"".join(chunks).decode("utf-8", "replace").strip()
    said = f": {text[-OUTPUT_CHARS:]!r}" if text else " (no output)"
    if hung:
        return False, f"smoke test {cmd!r} killed after {timeout:g}s (--timeout){said}"
    if proc.returncode != 0:
        return False, f"smoke test {cmd!r} exited {proc.returncode}{said}"
    return True, ""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
