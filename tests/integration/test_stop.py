"""A run's stop: the whole grace for an app that takes its time, not for one that cannot save and hangs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pytest

from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.runtime import container as ctr

# The runtime's own stop code with stand-in containers: it imports the Docker SDK, so it runs in this
# tier (the fast tier imports none).
pytestmark = pytest.mark.integration


class _Session:
    def check(self) -> None:
        pass


@dataclass
class _Container:
    """Exits ``exits_after`` seconds after the stop signal (None: never, until killed); logs ``at_stop``."""

    exits_after: float | None
    at_stop: bytes = b""
    before: bytes = b""
    signalled: float | None = None
    status: str = "running"
    attrs: dict = field(default_factory=lambda: {"State": {"ExitCode": 0}})
    log_calls: int = 0

    def reload(self) -> None:
        if self.signalled is not None and self.exits_after is not None:
            if time.monotonic() - self.signalled >= self.exits_after:
                self.status = "exited"

    def kill(self, signal: str = "SIGKILL") -> None:
        if signal == "SIGKILL":
            self.status, self.attrs = "exited", {"State": {"ExitCode": 137}}
        else:
            self.signalled = time.monotonic()

    def wait(self, timeout: float) -> dict:
        return {"StatusCode": 137}

    def logs(self, stdout: bool, stderr: bool, since: float) -> bytes:
        self.log_calls += 1
        return self.at_stop  # since the stop signal: ``before`` is older


SPEC = RunSpec("app:1", "ablate /data", stop_grace=2.0, stop_diverged=0.3)


def _stop(c: _Container, spec: RunSpec = SPEC) -> tuple[RunOutcome, float]:
    out = RunOutcome()
    t0 = time.monotonic()
    ctr.stop(_Session(), c, spec, out)  # type: ignore[arg-type]
    return out, time.monotonic() - t0


def test_an_app_that_cannot_save_and_hangs_is_killed_once_it_has_diverged() -> None:
    c = _Container(
        None, at_stop=b"# Failed opening the RDB file dump.rdb (in server root dir /data): Read-only file system\n"
    )
    out, took = _stop(c)
    assert out.stop_exit_code == 137 and out.stop_seconds is None
    assert 0.3 <= took < 1.0, "killed soon after 0.3 s, not after the 2 s grace"


def test_an_app_slow_to_stop_with_no_read_only_error_gets_the_whole_grace() -> None:
    c = _Container(1.0, before=b"open /x: read-only file system\n")  # its error was before the stop
    out, took = _stop(c)
    assert out.stop_exit_code == 0 and out.stop_seconds is not None and took >= 1.0
    assert c.log_calls <= 6, "logs are read at most every 0.2 s"


def test_without_the_rule_the_grace_holds() -> None:
    from dataclasses import replace

    c = _Container(None, at_stop=b"Read-only file system\n")
    out, took = _stop(c, replace(SPEC, stop_grace=0.6, stop_diverged=None))
    assert out.stop_exit_code == 137 and took >= 0.6 and c.log_calls == 0


def test_the_diverged_run_says_so() -> None:
    c = _Container(None, at_stop=b"Read-only file system\n")
    out, _ = _stop(c)
    assert out.diverged_at_stop
    out, _ = _stop(_Container(0.1))
    assert not out.diverged_at_stop


def test_an_ablation_that_diverged_at_its_stop_fails_without_a_writable_baseline_run() -> None:
    """It failed to save and hung: no need to learn how the app stops untraced (one more run)."""
    from ecs5probe.core.options import ProbeOptions
    from ecs5probe.core.probe import probe_image
    from ecs5probe.model import PlatformName
    from ecs5probe.platforms import to_platform
    from tests.fakes import HEALTH, FakeApp, FakeRuntime, fs, image

    class Hangs(FakeRuntime):
        def run(self, spec: RunSpec, prepared: str | None = None) -> RunOutcome:
            out = super().run(spec, prepared)
            if spec.purpose.startswith("ablate"):
                out.stop_exit_code, out.stop_seconds, out.diverged_at_stop = 137, None, True
            return out

    rt = Hangs(image(health=HEALTH), fs("/data"), FakeApp(tolerated=["/data/dump.rdb"]), strace=True)
    result = probe_image(rt, "app:1", ProbeOptions(jobs=2, ablate_all=True), to_platform(PlatformName.ECS))
    assert result.verified and [m.container_path for m in result.required_mounts] == ["/data"]
    assert not [s for s in rt.specs if s.purpose.startswith("baseline")], [(r.purpose, r.reason) for r in result.runs]
    (ablation,) = [r for r in result.runs if r.purpose.startswith("ablate")]
    assert "read-only error at its stop" in ablation.reason
