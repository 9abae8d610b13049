"""Smoke tests, soak and signals, checked as a user would: a no-shell service that writes only when a client
uploads, a service that writes on a timer, a daemon that reopens its log on SIGHUP (tests/integration/services)."""

from __future__ import annotations

import time
import urllib.request

import pytest

from ecs5probe import ProbeOptions, probe
from ecs5probe.errors import SmokeTestFailed, UsageError
from ecs5probe.platforms.ecs.fragment import fragment
from ecs5probe.runtime.args import SESSION_LABEL
from ecs5probe.runtime.smoke import address
from tests.integration.conftest import TEST_SESSION
from tests.integration.services import build as services

pytestmark = pytest.mark.integration

UPLOAD = "curl -fsS -X POST --data-binary 'hello' http://$ECS5PROBE_HOST:8080/upload"


@pytest.fixture(scope="module")
def images(docker_client) -> dict[str, str]:
    return services.built(*services.NAMES)


def _paths(result) -> list[str]:
    return sorted(m.container_path for m in result.mounts if m.required)


def test_without_smoke_the_upload_service_verifies_bare_but_its_upload_dir_is_unexercised(images) -> None:
    r = probe(images["upload"], ProbeOptions())
    assert r.verified and _paths(r) == []
    assert [u.path for u in r.unexercised] == ["/var/lib/uploads"]
    assert "owned by the app's user (uid 10001)" in r.unexercised[0].reason
    assert r.basis is not None and r.basis.smoke == () and r.basis.health == "/services check"


def test_with_a_smoke_test_the_upload_dir_is_recommended_and_serves_uploads_read_only(images, docker_client) -> None:
    r = probe(images["upload"], ProbeOptions(smoke=(UPLOAD,)))
    assert r.verified, r.reason
    assert _paths(r) == ["/var/lib/uploads"]
    assert r.unexercised == []
    assert r.basis is not None and r.basis.smoke == (UPLOAD,) and r.basis.ports == ("8080/tcp",)
    # The app wrote there with a writable root: required without a run without it. --ablate-all
    # makes that run, and the smoke test fails it: the app stays healthy but the upload is a 500.
    again = probe(images["upload"], ProbeOptions(smoke=(UPLOAD,), ablate_all=True))
    assert _paths(again) == ["/var/lib/uploads"] and again.mounts[0].degraded is False
    assert any("smoke test" in x.reason and "500" in x.reason for x in again.runs if not x.passed)
    # The answer, applied as ECS would (read-only root, the fragment's tmpfs), takes an upload.
    tmpfs = fragment(r.mounts, "EC2")["containerDefinition"]["linuxParameters"]["tmpfs"]
    host = address([8080])
    c = docker_client.containers.run(
        images["upload"],
        detach=True,
        read_only=True,
        tmpfs={t["containerPath"]: ",".join([*t.get("mountOptions", []), f"size={t['size']}m"]) for t in tmpfs},
        ports={"8080/tcp": (host, 8080)},
        labels={SESSION_LABEL: TEST_SESSION},
    )
    try:
        body = b""
        for _ in range(100):
            try:
                req = urllib.request.Request(f"http://{host}:8080/upload", data=b"hello", method="POST")
                body = urllib.request.urlopen(req, timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        assert body == b"stored 5 bytes\n"
    finally:
        c.remove(force=True, v=True)


def test_a_smoke_test_failing_even_writable_is_exit_2_with_its_output(images) -> None:
    with pytest.raises(SmokeTestFailed) as e:
        probe(
            images["upload"], ProbeOptions(smoke=("echo no such page >&2; curl -fsS http://$ECS5PROBE_HOST:8080/nope",))
        )
    assert e.value.exit_code == 2
    assert "your smoke test fails even writable" in str(e.value) and "404" in str(e.value)


def test_a_hanging_smoke_test_is_killed_at_the_timeout_with_its_output(images) -> None:
    t0 = time.monotonic()
    with pytest.raises(SmokeTestFailed) as e:
        probe(images["upload"], ProbeOptions(smoke=("echo started; sleep 600",), timeout=3))
    assert "killed after 3s" in str(e.value) and "started" in str(e.value)
    assert time.monotonic() - t0 < 30


def test_smoke_without_a_port_is_bad_input_before_any_run(images) -> None:
    with pytest.raises(UsageError, match="add --publish PORT"):
        probe(images["reporter"], ProbeOptions(smoke=("true",)))


def test_the_timer_service_gets_its_spool_dir_with_a_soak(images) -> None:
    bare = probe(images["reporter"], ProbeOptions())
    assert bare.verified and _paths(bare) == []
    assert "/var/spool/reporter" in [u.path for u in bare.unexercised]
    soaked = probe(images["reporter"], ProbeOptions(soak=25))
    assert soaked.verified, soaked.reason
    assert _paths(soaked) == ["/var/spool/reporter"]
    assert soaked.basis is not None and soaked.basis.soak_seconds == 25
    assert all(s >= 25 for _, s in soaked.basis.runs)


def test_a_daemon_reopening_its_log_on_hup_gets_its_log_dir_with_signal(images) -> None:
    bare = probe(images["hupd"], ProbeOptions())
    assert bare.verified and _paths(bare) == []
    assert "/var/log/hupd" in [u.path for u in bare.unexercised]  # root: a service's directory under /var/log
    hup = probe(images["hupd"], ProbeOptions(signals=("SIGHUP",)))
    assert hup.verified, hup.reason
    assert _paths(hup) == ["/var/log/hupd"]
    assert hup.basis is not None and hup.basis.signals == ("SIGHUP",)
