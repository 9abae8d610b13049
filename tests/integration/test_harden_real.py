"""Least privilege on real containers (busybox images built from local files), checked as ECS runs them:
a non-root service on port 80 gets net.ipv4.ip_unprivileged_port_start=80 and really runs read-only as
non-root with it (and not without it); busybox ping gets NET_RAW from the refused raw socket; a user
switch made in a child process (prefork style) names the user without --as-user."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from ecs5probe import probe
from ecs5probe.core.harden import Harden
from ecs5probe.core.options import PORT_START, ProbeOptions
from ecs5probe.runtime.args import SESSION_LABEL
from ecs5probe.runtime.docker import DockerRuntime, build_image

pytestmark = pytest.mark.integration

HARDEN = ("read-only-root", "non-root", "capabilities")
IMAGES = {
    # the image's own non-root user serves port 80 (as Caddy's does): on ECS it cannot, even writable
    "web80": """FROM ecs5probe/busybox
RUN mkdir -p /www && echo hello > /www/index.html
USER 1000:1000
HEALTHCHECK --interval=1s CMD wget -qO- http://127.0.0.1:80/ | grep -q hello
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
""",
    # a ping-based monitor: busybox ping opens a raw ICMP socket (NET_RAW)
    "pinger": """FROM ecs5probe/busybox
HEALTHCHECK --interval=1s CMD ping -c 1 -W 1 127.0.0.1
CMD ["sh", "-c", "trap 'exit 0' TERM; while ping -c 1 -W 1 127.0.0.1 > /dev/null; do sleep 1 & wait $!; done; exit 3"]
""",
    # prefork style: PID 1 stays root, the child it starts switches to app (1000) and serves; started
    # as a non-root user it serves as that user (as apache2 and nginx do: they switch only as root)
    "prefork": """FROM ecs5probe/busybox
RUN mkdir -p /www && echo hello > /www/index.html \\
 && printf '#!/bin/sh\\nif [ "$(id -u)" = 0 ]; then exec su -s /bin/sh app -c "$*"; else exec sh -c "$*"; fi\\n' \\
    > /bin/worker && chmod 755 /bin/worker
HEALTHCHECK --interval=1s CMD wget -qO- http://127.0.0.1:8080/ | grep -q hello
CMD ["sh", "-c", "trap 'kill $!; exit 0' TERM; worker exec httpd -f -p 8080 -h /www & wait $!"]
""",
    # a network agent: sets its interface's MTU (an SIOCSIFMTU ioctl: NET_ADMIN, not one of Docker's)
    "netagent": """FROM ecs5probe/busybox
HEALTHCHECK --interval=1s CMD ip link show lo | grep -q "mtu 1400"
CMD ["sh", "-c", "ip link set lo mtu 1400 || exit 4; trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"]
""",
}


@pytest.fixture(scope="module")
def images(built_samples, tmp_path_factory) -> dict[str, str]:
    rt = DockerRuntime()
    try:
        tags = {}
        for name, dockerfile in IMAGES.items():
            ctx: Path = tmp_path_factory.mktemp(name)
            (ctx / "Dockerfile").write_text(dockerfile)
            tags[name] = f"ecs5probe-test/harden-{name}:1"
            build_image(rt, str(ctx), tags[name])
        return tags
    finally:
        rt.close()


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


def _healthy(image: str, *args: str) -> tuple[bool, str, str]:
    """Run ``image`` read-only as ECS would with ``args``: (healthy within 20 s, its port start, logs)."""
    label = f"{SESSION_LABEL}=pytest-harden-{uuid.uuid4().hex[:8]}"
    cid = _docker("run", "-d", "--label", label, "--network", "none", "--read-only", *args, image).stdout.strip()
    assert cid, "docker run failed"
    try:
        deadline = time.monotonic() + 20
        status = ""
        while time.monotonic() < deadline:
            status = _docker("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", cid).stdout.strip()
            if status in ("running healthy",) or status.startswith("exited"):
                break
            time.sleep(0.3)
        start = _docker("exec", cid, "cat", f"/proc/sys/{PORT_START.replace('.', '/')}").stdout.strip()
        return status == "running healthy", start, _docker("logs", cid).stderr
    finally:
        _docker("rm", "-f", "-v", cid)


def test_a_non_root_service_on_port_80_gets_the_sysctl_at_80_and_runs_so(images) -> None:
    result = probe(images["web80"], ProbeOptions(harden=HARDEN))
    assert result.verified, result.reason
    p = result.privilege
    assert p is not None and p.verified and not p.cannot, p
    assert p.user == "1000:1000" and dict(p.sysctls) == {PORT_START: "80"}  # the port it binds, not 0
    assert p.cap_drop == ("ALL",) and p.cap_add == ()
    hardened = ["--user", p.user, "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    ok, start, logs = _healthy(images["web80"], *hardened, "--sysctl", f"{PORT_START}=80")
    assert ok and start == "80", logs
    # as ECS runs it without the answer's setting: the kernel's 1024, and it cannot serve
    ok, start, _ = _healthy(images["web80"], *hardened, "--sysctl", f"{PORT_START}=1024")
    assert not ok


def test_no_sysctls_says_why_and_writes_nothing(images) -> None:
    result = probe(images["web80"], ProbeOptions(harden=HARDEN, sysctls=False))
    assert not result.verified
    assert "permission denied" in result.reason.lower() and "ip_unprivileged_port_start" in result.reason


def test_busybox_ping_gets_net_raw_from_its_refused_raw_socket(images) -> None:
    result = probe(images["pinger"], ProbeOptions(harden=HARDEN))
    assert result.verified, result.reason
    p = result.privilege
    assert p is not None and p.verified and p.cap_add == ("NET_RAW",) and p.cap_drop == ("ALL",), p
    assert "SOCK_RAW" in dict(p.evidence)["NET_RAW"]
    assert not any(r.purpose.startswith("capabilities without") for r in result.runs)  # no ablation of 14
    ok, _, logs = _healthy(images["pinger"], "--cap-drop", "ALL", "--cap-add", "NET_RAW")
    assert ok, logs
    ok, _, _ = _healthy(images["pinger"], "--cap-drop", "ALL")
    assert not ok


def test_a_user_switch_in_a_child_names_the_user(images) -> None:
    result = probe(images["prefork"], ProbeOptions(harden=frozenset({Harden.READ_ONLY_ROOT, Harden.NON_ROOT})))
    assert result.verified, result.reason
    p = result.privilege
    assert p is not None and p.user == "1000:1000" and not p.cannot, p


def test_a_capability_outside_dockers_defaults_is_added_only_on_evidence_and_verified(images) -> None:
    from ecs5probe.core.options import CapabilityLimit

    result = probe(images["netagent"], ProbeOptions(harden=HARDEN))
    assert result.verified, result.reason
    p = result.privilege
    assert p is not None and p.verified and p.cap_add == ("NET_ADMIN",) and p.cap_drop == ("ALL",), p
    assert "SIOCSIFMTU" in dict(p.evidence)["NET_ADMIN"]
    assert any("added: NET_ADMIN" in t for t in result.tried)  # the writable run without it failed first
    ok, _, logs = _healthy(images["netagent"], "--cap-drop", "ALL", "--cap-add", "NET_ADMIN")
    assert ok, logs
    fargate = probe(images["netagent"], ProbeOptions(capability_limit=CapabilityLimit("Fargate", ("SYS_PTRACE",))))
    assert fargate.privilege is not None
    assert any("needs NET_ADMIN, which Fargate cannot add" in c for c in fargate.privilege.cannot)
