"""The probe loop over a fake runtime: discovery, fixpoint, minimisation, verification, failures."""

import threading

import pytest

from ecs5probe import probe
from ecs5probe.core.judge import diff_writes, judge
from ecs5probe.core.options import ProbeOptions
from ecs5probe.core.ports import RunOutcome
from ecs5probe.errors import UsageError
from tests.fakes import HEALTH, FakeApp, FakeRuntime, fs, image


def run(app: FakeApp, infos=None, **opts):
    rt = FakeRuntime(image(health=HEALTH), infos or fs("/tmp", "/run", "/var/lib/app", "/var/log/app"), app)
    result = probe("app:1", ProbeOptions(**opts), runtime=rt)
    return result, rt


def paths(result, required=True):
    return sorted(m.container_path for m in result.mounts if m.required is required)


def test_clean_image_needs_nothing_and_verifies() -> None:
    result, rt = run(FakeApp())
    assert result.verified and result.mounts == [] and result.exit_code == 0
    assert [s.read_only for s in rt.specs] == [False, True]
    assert rt.facts_obj is not None and rt.facts_obj.closed


def test_three_fatal_paths_found_in_one_observe_run() -> None:
    app = FakeApp(writes=["/var/log/app/a.log", "/var/lib/app/state", "/run/app.pid"])
    result, rt = run(app)
    assert result.verified
    assert paths(result) == ["/run", "/var/lib/app", "/var/log/app"]
    # observe + one trace (= verify); every mount was written with a writable root, so it is required
    # whatever a run without it shows: no ablation run (degraded unknown)
    assert len(rt.specs) == 2
    assert any(r.purpose.endswith("= verify") for r in result.runs)
    assert [m.degraded for m in result.mounts] == [None, None, None]
    # --ablate-all: one ablation per mount besides; nothing dropped, so no extra verify
    result, rt = run(app, ablate_all=True)
    assert result.verified and paths(result) == ["/run", "/var/lib/app", "/var/log/app"]
    assert len(rt.specs) == 2 + 3
    assert [m.degraded for m in result.mounts] == [False, False, False]


def test_runs_before_ablation_do_not_grow_with_paths() -> None:
    for n in (1, 4, 8):
        dirs = [f"/var/lib/app{i}" for i in range(n)]
        app = FakeApp(writes=[f"{d}/x" for d in dirs])
        result, rt = run(app, fs(*dirs), minimise=False)
        assert result.verified and len(rt.specs) == 2


def test_write_hidden_from_diff_is_found_in_logs() -> None:
    app = FakeApp(writes=["/tmp/probe", "/run/app.pid"], hidden_from_diff=["/tmp/probe"])
    result, rt = run(app)
    assert result.verified and paths(result) == ["/run", "/tmp"]
    tmp = next(m for m in result.mounts if m.container_path == "/tmp")
    assert {e.source for e in tmp.evidence} == {"log"}
    assert len([s for s in rt.specs if s.purpose.startswith("trace")]) == 2


def test_tolerated_write_that_succeeded_writable_is_required_and_degraded() -> None:
    """The app stays up without the mount, but loses what it wrote: required, marked degraded."""
    app = FakeApp(writes=["/run/app.pid"], tolerated=["/var/lib/app/cache"])
    result, _ = run(app, ablate_all=True)
    assert result.verified
    assert paths(result) == ["/run", "/var/lib/app"] and paths(result, required=False) == []
    cache = next(m for m in result.mounts if m.container_path == "/var/lib/app")
    run_ = next(m for m in result.mounts if m.container_path == "/run")
    assert cache.degraded and run_.degraded is False
    assert any(e.source == "log" for e in cache.evidence)
    assert result.to_dict()["mounts"][1]["degraded"] is True


def test_a_mount_written_with_a_writable_root_is_required_without_a_run_without_it() -> None:
    """The same app by default: both mounts required (the write fails read-only without either), no
    run made without them, so whether the app degrades or fails is unknown (null in JSON)."""
    app = FakeApp(writes=["/run/app.pid"], tolerated=["/var/lib/app/cache"])
    result, rt = run(app)
    assert result.verified and paths(result) == ["/run", "/var/lib/app"] and paths(result, required=False) == []
    assert not [s for s in rt.specs if s.purpose.startswith("ablate")]
    assert [m["degraded"] for m in result.to_dict()["mounts"]] == [None, None]


def test_allow_degraded_accepts_a_tolerated_write_knowingly() -> None:
    app = FakeApp(writes=["/run/app.pid"], tolerated=["/var/lib/app/cache"])
    result, _ = run(app, allow_degraded=("/var/lib/app",))
    assert result.verified and paths(result) == ["/run"] and paths(result, required=False) == ["/var/lib/app"]
    assert "--allow-degraded" in next(m for m in result.mounts if not m.required).reason


def test_hidden_empty_directory_is_recreated_with_a_nested_mount() -> None:
    """A pid file directly in /run means a mount on /run, which hides the image's empty /run/lock;
    the ENOENT that follows teaches the probe to recreate /run/lock inside it."""
    infos = fs("/run/lock", "/var/lib/app")
    app = FakeApp(
        writes=["/run/app.pid", "/run/lock/app.lock"], needs_dirs=["/run/lock"], hidden_from_diff=["/run/lock/app.lock"]
    )
    result, rt = run(app, infos)
    assert result.verified, result.reason
    assert paths(result) == ["/run", "/run/lock"]
    outer = next(m for m in result.mounts if m.container_path == "/run")
    assert outer.hides_image_content == ("lock/",)
    assert any("/run/lock" in t and "nested" in t for t in result.tried)


def test_silent_enoent_is_answered_by_the_alternatives_not_a_false_verdict() -> None:
    """No message, no strace: before saying "cannot run read-only" the probe tries nested mounts for
    what the mount hides, and says so."""
    infos = fs("/run/lock", "/var/lib/app")
    app = FakeApp(
        writes=["/run/app.pid", "/run/lock/app.lock"],
        needs_dirs=["/run/lock"],
        hidden_from_diff=["/run/lock/app.lock"],
        silent=True,
    )
    result, _ = run(app, infos, tracer="no-strace")
    assert result.verified, result.reason
    assert "/run/lock" in paths(result) + paths(result, required=False)
    assert any("nested mounts recreating /run/lock" in t for t in result.tried)


def test_cannot_run_read_only_says_what_was_tried() -> None:
    infos = fs("/srv/data", content=("/srv/data",))
    app = FakeApp(writes=["/etc/app.conf", "/srv/data/x"])
    result, _ = run(app, {**infos, **fs("/etc")})
    assert not result.verified and "no set of mounts" in result.reason
    assert result.to_dict()["tried"] == result.tried


def test_owner_follows_the_writer_of_a_privilege_dropping_daemon() -> None:
    """Started as root, the daemon writes as uid 101: the tmpfs must be its, not root's."""
    app = FakeApp(writes=["/var/lib/app/db"], writer_uid=101)
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app"), app)
    rt.writers["/var/lib/app"] = ((101, 101),)
    result = probe("app:1", runtime=rt)
    assert result.verified, result.reason
    assert result.mounts[0].mount_options[:2] == ("uid=101", "gid=101")
    assert "owner of what the app wrote" in result.mounts[0].reason


def test_eacces_under_a_mount_uses_the_uid_the_trace_saw_the_app_switch_to() -> None:
    """No owner evidence in the writable run (files made then removed): strace's setresuid decides."""
    app = FakeApp(writes=["/var/lib/app/db"], writer_uid=101, hidden_from_diff=["/var/lib/app/db"])
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app"), app, strace=True)
    result = probe("app:1", runtime=rt)
    assert result.verified, result.reason
    assert "uid=101" in result.mounts[0].mount_options
    assert any("101:101" in t for t in result.tried)


def test_write_at_stop_is_required() -> None:
    app = FakeApp(on_stop=["/var/lib/app/state"])
    result, _ = run(app)
    assert result.verified and paths(result) == ["/var/lib/app"]


def test_shipped_content_gets_a_copying_volume() -> None:
    infos = fs("/srv/data", content=("/srv/data",))
    app = FakeApp(writes=["/srv/data/out"], needs_content=["/srv/data"])
    result, rt = run(app, infos)
    assert result.verified and [(m.container_path, m.kind) for m in result.mounts] == [("/srv/data", "volume")]
    assert all(m.copy_content for s in rt.specs for m in s.mounts if m.path == "/srv/data")


def test_a_copying_volume_is_sized_by_what_the_image_ships_there_without_reading_the_run() -> None:
    """Its size only informs the report: counted by the image's facts (100 MiB: four times over, in 64s),
    not by reading every byte the writable run left there; where the facts did not count it, read."""
    from dataclasses import replace

    infos = fs("/srv/data", content=("/srv/data",))
    counted = {**infos, "/srv/data": replace(infos["/srv/data"], content_bytes=100 * 2**20)}
    app = FakeApp(writes=["/srv/data/out"], needs_content=["/srv/data"])
    result, rt = run(app, counted)
    (mount,) = result.mounts
    assert (mount.kind, mount.size_mib) == ("volume", 448)
    assert "/srv/data" not in getattr(rt, "written_asked", [])
    result, rt = run(app, infos)  # not counted (a scan past its cap): what the run left, read
    assert result.mounts[0].size_mib == 64 and "/srv/data" in rt.written_asked
    # an image VOLUME is an ECS bind mount, whose size can call for Fargate task storage: what the run
    # left there is read, counted or not
    rt = FakeRuntime(image(health=HEALTH, volumes=("/srv/data",)), counted, app)
    result = probe("app:1", ProbeOptions(), runtime=rt)
    assert result.verified and result.mounts[0].kind == "bind" and "/srv/data" in rt.written_asked


def test_unmountable_fatal_write_fails_with_reason() -> None:
    app = FakeApp(writes=["/etc/app.conf"])
    result, _ = run(app, fs("/etc"))
    assert not result.verified and result.exit_code == 1
    assert "/etc/app.conf" in result.reason
    assert any(f.kind == "unmountable" for f in result.findings)


def test_unmountable_tolerated_write_still_verifies_with_a_finding() -> None:
    app = FakeApp(tolerated=["/etc/motd"])
    result, _ = run(app, fs("/etc"))
    assert result.verified and result.mounts == []
    assert any(f.kind == "unmountable" and "/etc/motd" in f.message for f in result.findings)


def test_image_broken_even_writable() -> None:
    result, rt = run(FakeApp(broken=True))
    assert not result.verified and "writable root" in result.reason and len(rt.specs) == 1


def test_pathless_erofs_is_a_finding_when_it_cannot_be_fixed() -> None:
    app = FakeApp(
        writes=["/var/lib/app/x"],
        hidden_from_diff=["/var/lib/app/x"],
        log_format="Error: Read-only file system (os error 30)",
    )
    result, _ = run(app)
    assert not result.verified
    assert any(f.kind == "pathless-erofs" for f in result.findings)


def test_health_start_period_adapts_to_the_writable_run() -> None:
    _, rt = run(FakeApp(writes=["/run/x"]), start_period=30)
    observe, trace = rt.specs[0], rt.specs[1]
    assert observe.health.start_period == 30
    assert trace.health.start_period == 2 * 0.1 + 2


def test_health_cmd_overrides_image_health() -> None:
    _, rt = run(FakeApp(), health_cmd="curl -f localhost")
    assert rt.specs[0].health.test == ("CMD-SHELL", "curl -f localhost")
    assert rt.specs[0].health.interval == 0.5


def test_image_volumes_get_read_only_volumes_when_tracing() -> None:
    rt = FakeRuntime(image(health=HEALTH, volumes=("/data",)), fs("/data"), FakeApp(writes=["/data/db"]))
    result = probe("app:1", runtime=rt)
    observe = rt.specs[0]
    assert [(m.path, m.read_only, m.copy_content) for m in observe.mounts] == [("/data", False, True)]
    # the write into /data is not in docker diff (a volume): the listing of the volume shows it
    assert result.verified and [(m.container_path, m.kind) for m in result.mounts] == [("/data", "bind")]
    assert [e.source for e in result.mounts[0].evidence] == ["volume-diff"]
    trace = rt.specs[1]
    assert [(m.path, m.read_only) for m in trace.mounts] == [("/data", False)]


def test_judge() -> None:
    ok = RunOutcome(started=True, stop_exit_code=0)
    assert judge(ok, 0, job=False)[0]
    assert not judge(RunOutcome(started=True, stop_exit_code=1), 0, job=False)[0]
    assert not judge(RunOutcome(started=True, exercises_ok=False, exercise_detail="x"), 0, job=False)[0]
    assert judge(RunOutcome(started=True, exit_code=0), None, job=True)[0]
    assert not judge(RunOutcome(started=True, exit_code=2), None, job=True)[0]


def test_diff_writes_keeps_leaves_and_skips_dev() -> None:
    ws = diff_writes([("C", "/var"), ("C", "/var/lib"), ("A", "/var/lib/x"), ("A", "/dev/shm/y"), ("C", "/run")])
    assert [(w.path, w.op) for w in ws] == [("/run", "changed"), ("/var/lib/x", "added")]


def _silent(strace: bool, tracer: str = "auto", jobs: int = 1):
    app = FakeApp(writes=["/var/lib/app/lock"], hidden_from_diff=["/var/lib/app/lock"], silent=True)
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app"), app, strace=strace)
    return probe("app:1", ProbeOptions(tracer=tracer, jobs=jobs), runtime=rt), rt


def test_silent_failure_found_by_strace_only() -> None:
    with_strace, rt = _silent(strace=True)
    assert with_strace.verified and paths(with_strace) == ["/var/lib/app"]
    assert {e.source for e in with_strace.mounts[0].evidence} == {"strace"}
    # traced: observe and trace runs; untraced, as ECS runs it: ablation and the final verification
    assert [(s.purpose, s.trace) for s in rt.specs] == [
        ("observe (writable)", True),
        ("trace 1", True),
        ("verify", False),
    ]
    assert with_strace.runs[-1].purpose == "verify" and with_strace.runs[-1].passed
    for tracer in ("logs", "diff"):
        without, _ = _silent(strace=True, tracer=tracer)
        assert not without.verified and without.exit_code == 1


def test_tracer_unavailable_is_said_once_and_the_probe_goes_on() -> None:
    result, rt = _silent(strace=False)
    notes = [f for f in result.findings if f.kind == "tracer"]
    assert len(notes) == 1 and "unavailable" in notes[0].message
    assert not any(s.trace and rt.strace for s in rt.specs)


def test_pycache_writes_are_benign_with_the_alternative() -> None:
    app = FakeApp(tolerated=["/usr/lib/python3/__pycache__/x.cpython-311.pyc"])
    result, _ = run(app, fs("/usr/lib/python3/__pycache__"))
    assert result.verified and result.mounts == []
    assert any(f.kind == "benign" and "PYTHONDONTWRITEBYTECODE=1" in f.message for f in result.findings)


def test_judge_relaxes_137_143_only_across_tracing() -> None:
    traced_kill = RunOutcome(started=True, stop_exit_code=143)
    assert not judge(traced_kill, 137, job=False)[0]
    assert judge(traced_kill, 137, job=False, relaxed_stop=True)[0]
    assert not judge(RunOutcome(started=True, stop_exit_code=1), 137, job=False, relaxed_stop=True)[0]


def test_read_only_runs_stop_waiting_well_past_the_writable_stop() -> None:
    """The writable run stopped in 0.2 s: a read-only run still alive after 3 x 0.2 + 1 s has diverged."""
    _, rt = run(FakeApp(writes=["/run/x"]), stop_grace=10)
    assert rt.specs[0].stop_grace == 10
    assert {s.stop_grace for s in rt.specs[1:]} == {3 * 0.2 + 1.0}


def test_verification_and_ablation_run_in_the_first_wave_without_a_traced_run() -> None:
    """With two containers at a time, the untraced verification and the ablations of the observed set
    run at once: when the verification passes and teaches nothing, they are the answer. The writable
    run's trace named every write, so no traced read-only run repeats the verification; one after
    the other (--jobs 1), the traced run comes first."""
    sequential, rt1 = _silent(strace=True, jobs=1)
    wave, rt2 = _silent(strace=True, jobs=2)
    assert wave.verified and paths(wave) == paths(sequential) == ["/var/lib/app"]
    one_by_one = sorted((s.purpose, s.trace) for s in rt1.specs)
    assert ("trace 1", True) in one_by_one
    assert sorted((s.purpose, s.trace) for s in rt2.specs) == [x for x in one_by_one if x != ("trace 1", True)]


def test_a_writable_trace_with_unnamed_writes_keeps_the_traced_run_in_the_first_wave() -> None:
    """Where the writable run's trace saw a write it could not name, the candidates may miss one:
    the first wave traces the set too, beside its verification."""
    app = FakeApp(writes=["/var/lib/app/master.lock"], unnamed_in_trace=["/var/lib/app/master.lock"])
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2), runtime=rt)
    assert result.verified and paths(result) == ["/var/lib/app"], result.reason
    assert [(s.purpose, s.trace) for s in rt.specs].count(("trace 1", True)) == 1


def test_a_trace_that_teaches_something_discards_the_speculative_wave() -> None:
    """The first trace finds that the mount on /run hides /run/lock (ENOENT): the speculative
    verification of the observed set is not the answer, and the loop goes on with the nested mount."""
    app = FakeApp(writes=["/run/app.pid", "/run/lock/app.lock"], needs_dirs=["/run/lock"])
    rt = FakeRuntime(image(health=HEALTH), fs("/run/lock", "/var/lib/app"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2), runtime=rt)
    assert result.verified and paths(result) == ["/run", "/run/lock"]
    purposes = [r.purpose for r in result.runs]
    assert "trace 1" in purposes  # after the discarded speculation, the traced runs go on
    assert result.runs[-1].purpose.startswith("verify") or result.runs[-1].purpose.endswith("= verify")
    assert any(r.purpose == "verify" and not r.passed for r in result.runs)  # the discarded speculation


def test_a_late_docker_diff_that_adds_a_path_discards_the_speculative_wave() -> None:
    """docker diff is read beside the first wave; a write only it saw (a process strace did not
    follow, such as a health check run by docker exec) still becomes a mount."""
    app = FakeApp(
        writes=["/var/lib/app/db", "/var/cache/hc/stamp"],
        hidden_from_trace=["/var/cache/hc/stamp"],
        fatal=False,
        silent=True,
    )
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app", "/var/cache/hc"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2, ablate_all=True), runtime=rt)
    assert result.verified and paths(result) == ["/var/cache/hc", "/var/lib/app"]
    cache = next(m for m in result.mounts if m.container_path == "/var/cache/hc")
    assert "diff" in {e.source for e in cache.evidence} and cache.degraded


def test_writes_the_trace_could_not_name_have_docker_diff_read_before_the_first_wave() -> None:
    """strace saw a write but not its path (postfix's master opening its lock file: an address it could
    not read): the first wave would run without that mount and be wasted, so the diff comes first."""
    app = FakeApp(
        writes=["/var/lib/app/db", "/var/lib/lock/master.lock"], unnamed_in_trace=["/var/lib/lock/master.lock"]
    )
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app", "/var/lib/lock"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2), runtime=rt)
    assert result.verified and paths(result) == ["/var/lib/app", "/var/lib/lock"], result.reason
    assert all(r.passed for r in result.runs if not r.purpose.startswith("ablate")), result.runs
    first = next(s for s in rt.specs if s.purpose == "trace 1")
    assert [m.path for m in first.mounts] == ["/var/lib/app", "/var/lib/lock"]


def test_a_stop_only_ablation_is_judged_against_the_verified_untraced_run() -> None:
    """An ablation that fails only at the stop (the app cannot save its state: exit 1), untraced, against
    a traced writable run: the untraced verification of the full set, already passed, says how an
    untraced run stops (0), so no extra writable baseline run is needed to call the mount required."""
    app = FakeApp(
        writes=["/run/app.pid", "/var/lib/app/state"],
        tolerated=["/var/lib/app/state"],
        on_stop=["/var/lib/app/state"],
        ablation_delay=0.2,
    )
    rt = FakeRuntime(image(health=HEALTH), fs("/run", "/var/lib/app"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2, ablate_all=True), runtime=rt)
    assert result.verified and paths(result) == ["/run", "/var/lib/app"], result.reason
    purposes = [r.purpose for r in result.runs]
    assert "baseline (writable, untraced)" not in purposes, purposes
    ablated = next(r for r in result.runs if r.purpose == "ablate /var/lib/app")
    assert not ablated.passed and "the verified untraced run: 0" in ablated.reason


@pytest.mark.parametrize("jobs", [1, 2])
def test_traced_runs_stop_as_the_traced_writable_run_did(jobs: int) -> None:
    """Debian's php-fpm: under the tracer it never stops on its signal (137, writable root or not);
    untraced it stops with 0. An untraced ablation that fails only at the stop brings in the untraced
    writable baseline (0) meanwhile; the traced read-only run is still judged against the traced
    writable run (137), or every traced run fails at the stop and the probe says "cannot"."""
    app = FakeApp(
        writes=["/run/app.pid", "/var/lib/app/state"],
        tolerated=["/var/lib/app/state"],
        on_stop=["/var/lib/app/state"],
        traced_stop=137,
        trace_delay=0.3,
    )
    rt = FakeRuntime(image(health=HEALTH), fs("/run", "/var/lib/app"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=jobs), runtime=rt)
    assert result.verified and paths(result) == ["/run", "/var/lib/app"], result.reason
    purposes = [r.purpose for r in result.runs]
    assert "baseline (writable, untraced)" in purposes, purposes
    if jobs == 1:  # one after the other, a traced read-only run comes first (with two, it is not needed)
        assert purposes.count("trace 1") == 1, purposes
        assert next(r for r in result.runs if r.purpose == "trace 1").passed


def test_programs_the_app_writes_and_loads_get_exec_on_their_tmpfs_only() -> None:
    """Debian's varnish compiles its VCL into its working directory and loads it: a tmpfs there is
    noexec (Docker's and ECS's default), so the load fails; the trace saw the shared object made."""
    app = FakeApp(writes=["/run/app.pid", "/var/lib/app/vcl/vgc.so"], runs_programs=["/var/lib/app/vcl/vgc.so"])
    rt = FakeRuntime(image(health=HEALTH), fs("/run", "/var/lib/app"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2), runtime=rt)
    assert result.verified, result.reason
    loaded = next(m for m in result.mounts if "/var/lib/app/vcl/vgc.so".startswith(m.container_path + "/"))
    assert loaded.kind == "tmpfs" and "exec" in loaded.mount_options and "vgc.so" in loaded.reason
    assert all("exec" not in m.mount_options for m in result.mounts if m is not loaded)
    assert any(t.startswith(f"exec on the tmpfs at {loaded.container_path}") for t in result.tried), result.tried


def test_a_tmpfs_the_app_fills_while_running_gets_room() -> None:
    """What the app leaves after its stop sized the tmpfs (varnish deletes its 80 MiB log): a run that
    fails and teaches nothing then tries 1 GiB (half the container's memory at most), verified."""
    app = FakeApp(writes=["/var/lib/app/shm"], fills_mib={"/var/lib/app/shm": 80})
    rt = FakeRuntime(image(health=HEALTH), fs("/var/lib/app"), app, strace=True)
    result = probe("app:1", ProbeOptions(jobs=2), runtime=rt)
    assert result.verified, result.reason
    (mount,) = result.mounts
    assert mount.size_mib == 1024 and "a run failed with less" in mount.reason
    small = probe("app:1", ProbeOptions(jobs=2, memory_mib=512), runtime=rt)
    assert small.verified and small.mounts[0].size_mib == 256


class SlowFacts(FakeRuntime):
    """Reading the image's facts takes a while; records whether the writable run started meanwhile."""

    def __init__(self, *args, fail: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.observing = threading.Event()
        self.overlapped: bool | None = None
        self.fail = fail

    def facts(self, image: str, user: str):
        self.overlapped = self.observing.wait(timeout=0.5)
        if self.fail:
            raise UsageError(f"{image}: user {user!r} is not in the image's /etc/passwd")
        return super().facts(image, user)

    def run(self, spec, prepared=None):
        if spec.observe:
            self.observing.set()
        return super().run(spec, prepared)


def test_image_facts_are_read_beside_the_writable_run_and_closed() -> None:
    rt = SlowFacts(image(health=HEALTH), fs("/tmp", "/run"), FakeApp(writes=["/run/app.pid"]))
    result = probe("app:1", runtime=rt)
    assert rt.overlapped is True
    assert result.verified and [m.container_path for m in result.mounts] == ["/run"]
    assert rt.facts_obj is not None and rt.facts_obj.closed


def test_image_volumes_are_resolved_through_the_facts_before_the_writable_run() -> None:
    rt = SlowFacts(image(health=HEALTH, volumes=("/data",)), fs("/data"), FakeApp(writes=["/data/db"]))
    assert probe("app:1", runtime=rt).verified
    assert rt.overlapped is False  # the observe run waited for them (its spec names the VOLUME's path)


def test_an_unknown_user_is_a_usage_error_even_when_read_beside_the_run() -> None:
    rt = SlowFacts(image(health=HEALTH), fs("/tmp"), FakeApp(), fail=True)
    with pytest.raises(UsageError, match="not in the image's /etc/passwd"):
        probe("app:1", runtime=rt, user="nobodyx")
    assert len(rt.specs) == 1  # the writable run only: nothing probed read-only


def test_degraded_true_false_and_unknown_round_trip_through_a_json_report() -> None:
    """merge reads a shard's JSON back: a mount not run without (degraded null) stays unknown."""
    import json

    from ecs5probe.app.shard import result_from_dict

    app = FakeApp(writes=["/run/app.pid"], tolerated=["/var/lib/app/cache"])
    for ablate_all, want in ((False, [None, None]), (True, [False, True])):
        result, _ = run(app, ablate_all=ablate_all)
        back = result_from_dict(json.loads(json.dumps(result.to_dict())))
        assert [m.degraded for m in back.mounts] == want
