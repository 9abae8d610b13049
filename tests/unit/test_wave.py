"""A wave prepares its runs ahead (storage copies side by side) and runs at most ``jobs`` at once."""

from __future__ import annotations

import threading
import time

import pytest

from ecs5probe.core.ports import MountSpec, RunOutcome, RunSpec
from ecs5probe.core.wave import Wave


class Recorder:
    """A runtime that records prepares, runs and discards; a run named ``boom`` raises."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.prepared: list[str] = []
        self.discarded: list[str] = []
        self.running = 0
        self.most_running = 0
        self.ahead = 0
        self.most_ahead = 0

    def prepare(self, spec: RunSpec) -> str:
        with self.lock:
            self.prepared.append(spec.purpose)
            self.ahead += 1
            self.most_ahead = max(self.most_ahead, self.ahead)
        return f"h-{spec.purpose}"

    def discard(self, handle: str) -> None:
        with self.lock:
            self.discarded.append(handle)

    def run(self, spec: RunSpec, prepared: str | None) -> RunOutcome:
        assert prepared == f"h-{spec.purpose}"
        with self.lock:
            self.ahead -= 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            time.sleep(0.02)
            if spec.purpose == "boom":
                raise RuntimeError("boom")
            return RunOutcome(started=True)
        finally:
            with self.lock:
                self.running -= 1


def spec(purpose: str) -> RunSpec:
    return RunSpec(image="x", purpose=purpose)


def test_every_run_is_prepared_then_run_with_its_handle_at_most_jobs_at_once():
    rt = Recorder()
    with Wave(rt, 2) as wave:  # type: ignore[arg-type]
        futures = [wave.submit(spec(f"r{i}"), rt.run) for i in range(9)]
        outs = [f.result() for f in futures]
    assert all(o.started for o in outs)
    assert sorted(rt.prepared) == sorted(f"r{i}" for i in range(9))
    assert rt.most_running == 2
    assert rt.most_ahead <= 4  # prepared ahead: at most twice jobs (storage copies are bounded)
    assert rt.discarded == []


def test_a_failing_run_fails_its_future_and_nothing_prepared_is_left():
    rt = Recorder()
    with pytest.raises(RuntimeError, match="boom"):
        with Wave(rt, 1) as wave:  # type: ignore[arg-type]
            first = wave.submit(spec("boom"), rt.run)
            rest = [wave.submit(spec(f"r{i}"), rt.run) for i in range(5)]
            first.result()
    ran = {f"h-r{i}" for i, f in enumerate(rest) if f.done() and not f.cancelled() and f.exception() is None}
    assert len(ran) < len(rest)  # the wave ended: not every run was started
    # every run prepared but never started was discarded; none that ran was
    assert set(rt.discarded) == {f"h-{p}" for p in rt.prepared} - ran - {"h-boom"}
    assert not set(rt.discarded) & ran


def test_a_ready_run_takes_a_free_slot_before_one_still_preparing():
    """A run whose storage copy is slow does not hold back the runs prepared after it."""

    class SlowCopy(Recorder):
        def prepare(self, spec: RunSpec) -> str:
            if spec.purpose == "copy":
                time.sleep(0.3)
            return super().prepare(spec)

    rt = SlowCopy()
    order: list[str] = []

    def run(spec: RunSpec, prepared: str | None) -> RunOutcome:
        order.append(spec.purpose)
        return rt.run(spec, prepared)

    with Wave(rt, 1) as wave:  # type: ignore[arg-type]
        futures = [wave.submit(spec("copy"), run), wave.submit(spec("quick"), run)]
        [f.result() for f in futures]
    assert order == ["quick", "copy"]


def test_on_prepared_is_called_once_all_submitted_runs_are_prepared():
    rt = Recorder()
    seen: list[int] = []
    with Wave(rt, 2) as wave:  # type: ignore[arg-type]
        for i in range(5):
            wave.submit(spec(f"r{i}"), rt.run)
        wave.on_prepared(lambda: seen.append(len(rt.prepared)))
    assert seen == [5]


def copying(purpose: str) -> RunSpec:
    return RunSpec(image="x", purpose=purpose, mounts=(MountSpec("/data", "volume", copy_content=True),))


def test_at_most_jobs_copies_are_made_at_once_in_submission_order_and_others_do_not_wait():
    """Copies share the daemon: two side by side are ready before three would be. A run that copies
    nothing (a tmpfs, a volume that copies nothing) is prepared beside them all the same."""

    class Copies(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.copying = 0
            self.most_copying = 0
            self.started: list[str] = []

        def prepare(self, spec: RunSpec) -> str:
            from ecs5probe.core.wave import copies

            with self.lock:
                self.started.append(spec.purpose)
                self.copying += copies(spec)
                self.most_copying = max(self.most_copying, self.copying)
            time.sleep(0.1 if copies(spec) else 0.0)
            with self.lock:
                self.copying -= copies(spec)
            return super().prepare(spec)

    rt = Copies()
    plain = RunSpec(image="x", purpose="plain", mounts=(MountSpec("/run", "tmpfs"), MountSpec("/v", "volume")))
    with Wave(rt, 2) as wave:  # type: ignore[arg-type]
        futures = [wave.submit(copying(f"c{i}"), rt.run) for i in range(3)] + [wave.submit(plain, rt.run)]
        [f.result() for f in futures]
    assert rt.most_copying == 2
    assert rt.started.index("plain") < rt.started.index("c2")  # not behind the copies
    assert [p for p in rt.started if p.startswith("c")] == ["c0", "c1", "c2"]
