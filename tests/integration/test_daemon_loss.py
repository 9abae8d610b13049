"""A Docker daemon that dies mid-probe: exit 2 and one line, never a traceback; nothing left after cleanup.

The test starts a second dockerd of its own (own data-root, exec-root, socket, pidfile, containerd
namespace, and its own bridge: a second daemon started with ``bridge: none`` deletes the host's docker0),
loads a sample into it, kills it with SIGKILL while a probe runs against it, restarts it and cleans up.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from ecs5probe.runtime.args import SESSION_LABEL

# One worker runs both tests: the module's daemon, bridge and address are one per machine (on two
# workers each made its own, and one's teardown deleted the bridge the other's daemon was starting on).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("second-daemon")]

BRIDGE = "ecs5p-fault0"


class SecondDaemon:
    def __init__(self, root: Path):
        self.root = root
        self.sock = f"unix://{root}/docker.sock"
        self.config = root / "daemon.json"
        self.config.write_text(
            json.dumps(
                {
                    "data-root": str(root / "data"),
                    "exec-root": str(root / "exec"),
                    "pidfile": str(root / "docker.pid"),
                    "hosts": [self.sock],
                    "storage-driver": "vfs",
                    "iptables": False,
                    "ip-masq": False,
                    "bridge": BRIDGE,
                    "containerd-namespace": "ecs5p-fault",
                    "containerd-plugins-namespace": "ecs5p-fault-p",
                }
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        _bridge()  # before every start: the restart after the kill too
        log = open(self.root / "dockerd.log", "ab")
        self.proc = subprocess.Popen(["dockerd", "--config-file", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.client_ok():
                return
            time.sleep(0.3)
        raise RuntimeError(f"second dockerd did not start: {(self.root / 'dockerd.log').read_text()[-500:]}")

    def client_ok(self) -> bool:
        try:
            docker.DockerClient(base_url=self.sock, timeout=5).ping()
            return True
        except Exception:
            return False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=60)
        if sig == signal.SIGKILL:
            # its containerd outlives it and holds the socket a restarted dockerd waits for: end it too
            # (the containers' shims live on, as after a real crash)
            subprocess.run(["pkill", "-KILL", "-f", f"containerd --config {self.root}/exec"], check=False)
            # a crashed daemon leaves its pidfile and its containerd's (which may linger as a zombie)
            (self.root / "docker.pid").unlink(missing_ok=True)
            (self.root / "exec" / "containerd" / "containerd.pid").unlink(missing_ok=True)
            time.sleep(1)

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.sock}


def _bridge() -> None:
    """The second daemon's own bridge, made where it is missing."""
    subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], capture_output=True, check=False)
    subprocess.run(["ip", "addr", "add", "172.31.254.1/24", "dev", BRIDGE], capture_output=True, check=False)
    subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)


@pytest.fixture(scope="module")
def second_daemon(built_samples) -> Iterator[SecondDaemon]:
    if shutil.which("dockerd") is None:
        pytest.fail("dockerd is not installed: the fault test needs a second daemon (apt-get install docker.io)")
    root = Path(tempfile.mkdtemp(prefix="ecs5p-fault-"))
    d = SecondDaemon(root)
    d.start()
    try:
        save = subprocess.Popen(["docker", "save", built_samples["11-sigterm-state"].tag], stdout=subprocess.PIPE)
        subprocess.run(["docker", "load"], stdin=save.stdout, env=d.env(), capture_output=True, check=True)
        save.wait(timeout=60)
        yield d
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.kill(signal.SIGTERM)
        subprocess.run(["pkill", "-KILL", "-f", str(root)], check=False)  # shims of containers it left
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)
        with open("/proc/mounts") as f:  # its netns and shm mounts
            points = [line.split()[1] for line in f if str(root) in line.split()[1]]
        for point in sorted(points, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def _labelled(d: SecondDaemon) -> int:
    c = docker.DockerClient(base_url=d.sock, timeout=30)
    flt = {"label": SESSION_LABEL}
    return len(c.api.containers(all=True, filters=flt)) + len(c.api.volumes(filters=flt).get("Volumes") or [])


def test_daemon_killed_mid_probe_exits_2_with_one_line_and_cleanup_removes_the_rest(
    second_daemon: SecondDaemon, built_samples
) -> None:
    tag = built_samples["11-sigterm-state"].tag
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecs5probe", "probe", tag, "--tracer", "no-strace"],
        env=second_daemon.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait until the probe is in its read-only runs, then kill the daemon under it
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if "read-only run" in line or not line:
            break
    second_daemon.kill()
    out, rest = proc.communicate(timeout=120)
    stderr = seen + rest
    assert proc.returncode == 2, stderr
    assert "Traceback" not in stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "lost the Docker daemon at unix://" in errors[0] and tag in errors[0], stderr
    assert out == ""

    second_daemon.start()
    assert _labelled(second_daemon) > 0, "the killed probe left nothing? the test did not kill it mid-run"
    clean = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "cleanup"],
        env=second_daemon.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert clean.returncode == 0, clean.stderr
    removed = int(clean.stdout.split()[1]) + int(clean.stdout.split()[4])
    assert removed > 0, clean.stdout
    assert _labelled(second_daemon) == 0


def test_daemon_gone_before_start_exits_2(second_daemon: SecondDaemon, built_samples, tmp_path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"}
    proc = subprocess.run(
        [sys.executable, "-m", "ecs5probe", "probe", built_samples["01-clean"].tag, "-q"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot reach the Docker daemon" in proc.stderr
