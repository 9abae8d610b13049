"""Smoke tests, soak and signals without Docker: options, the probe loop over a fake runtime, what no run
reached, what the verdict rests on, the relay's pure parts and the smoke command runner, every report."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from ecs5probe import probe
from ecs5probe.core.basis import basis, deciding
from ecs5probe.core.judge import judge
from ecs5probe.core.options import ProbeOptions, check_options, signal_name
from ecs5probe.core.ports import RunOutcome
from ecs5probe.core.unexercised import LIMIT, unexercised
from ecs5probe.errors import SmokeTestFailed, UsageError
from ecs5probe.model import Basis, HealthSpec, PathInfo, ProbeResult, RunRecord, Unexercised
from ecs5probe.render.formats import ReportFormat
from ecs5probe.render.interface import Report
from ecs5probe.runtime import smoke
from tests.fakes import HEALTH, RUNTIME, FakeApp, FakeRuntime, cli_invoke, fs, image

UPLOAD = "curl -fsS -X POST --data-binary x http://$ECS5PROBE_HOST:8080/upload"


def _dir(path: str, uid: int = 0, gid: int = 0, mode: int = 0o755) -> PathInfo:
    return PathInfo(path, True, True, uid=uid, gid=gid, mode=mode)


# -- options ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "name"), [("HUP", "SIGHUP"), ("sighup", "SIGHUP"), ("USR1", "SIGUSR1"), ("15", "SIGTERM")]
)
def test_signal_names_are_docker_kills(given: str, name: str) -> None:
    assert signal_name(given) == name


def test_unknown_signal_negative_soak_and_smoke_without_port_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown signal"):
        signal_name("BOGUS")
    with pytest.raises(ValueError, match="--soak"):
        check_options(ProbeOptions(soak=-1), "app:1", ())
    with pytest.raises(ValueError, match="add --publish PORT"):
        check_options(ProbeOptions(smoke=("true",)), "app:1", ())
    check_options(ProbeOptions(smoke=("true",)), "app:1", ("8080/tcp",))
    check_options(ProbeOptions(smoke=("true",), publish=(9000,)), "app:1", ())


def test_ports_published_are_the_images_tcp_ones_and_publish_only_with_a_smoke_test() -> None:
    o = ProbeOptions(smoke=("true",), publish=(9000, 80))
    assert o.ports(("8080/tcp", "53/udp", "80/tcp")) == ("80/tcp", "8080/tcp", "9000/tcp")
    assert ProbeOptions(publish=(9000,)).ports(("8080/tcp",)) == ()


@pytest.mark.parametrize(
    "args",
    [
        ["--smoke", "true"],  # the fake image exposes no port
        ["--signal", "BOGUS"],
        ["--soak", "-1"],
    ],
)
def test_bad_smoke_soak_signal_input_is_exit_2_one_line_nothing_probed(monkeypatch, args) -> None:
    rt = FakeRuntime(image(health=HEALTH), fs("/run"), FakeApp())
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    r = cli_invoke(["probe", "app:1", *args])
    assert r.exit_code == 2, r.output
    assert len([ln for ln in r.output.splitlines() if ln.lower().startswith("error:")]) == 1, r.output
    assert rt.specs == []


def test_smoke_options_reach_every_run_from_the_cli_and_the_environment(monkeypatch) -> None:
    rt = FakeRuntime(image(health=HEALTH, ports=("8080/tcp",)), fs("/run"), FakeApp())
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    r = cli_invoke(
        ["probe", "app:1", "--smoke", "true", "--signal", "hup", "--soak", "2", "-q"],
        env={"ECS5PROBE_SMOKE": "ignored: the command line wins"},
    )
    assert r.exit_code == 0, r.output
    assert {(s.smoke, s.signals, s.soak, s.ports) for s in rt.specs} == {(("true",), ("SIGHUP",), 2.0, ("8080/tcp",))}
    rt.specs.clear()
    r = cli_invoke(["probe", "app:1", "-q"], env={"ECS5PROBE_SMOKE": "a\nb", "ECS5PROBE_PUBLISH": "9000"})
    assert r.exit_code == 0, r.output
    assert {(s.smoke, s.ports) for s in rt.specs} == {(("a", "b"), ("8080/tcp", "9000/tcp"))}


# -- the probe loop --------------------------------------------------------------------------------
def _probe(app: FakeApp, **opts):
    infos = fs("/tmp", "/var/lib/uploads", owners={"/var/lib/uploads": 1000})
    rt = FakeRuntime(image(health=HEALTH, ports=("8080/tcp",)), infos, app, uid=1000, strace=True)
    return probe("app:1", ProbeOptions(**opts), runtime=rt), rt


def test_an_upload_only_a_smoke_test_makes_is_found_and_verified() -> None:
    app = FakeApp(on_smoke=["/var/lib/uploads/a.bin"])
    bare, _ = _probe(app)
    assert bare.verified and bare.mounts == []
    assert [u.path for u in bare.unexercised] == ["/var/lib/uploads"]
    smoked, rt = _probe(app, smoke=(UPLOAD,))
    assert smoked.verified, smoked.reason
    assert [m.container_path for m in smoked.mounts] == ["/var/lib/uploads"]
    assert smoked.unexercised == []
    assert all(s.smoke == (UPLOAD,) for s in rt.specs)
    # the ablation failed at its smoke test, not at its stop: no untraced baseline is asked for
    assert not any(r.purpose.startswith("baseline") for r in smoked.runs)
    assert smoked.basis is not None and smoked.basis.smoke == (UPLOAD,)
    assert [p for p, _ in smoked.basis.runs] == ["observe (writable)", "verify"]


def test_a_smoke_test_failing_even_writable_is_exit_2_with_its_output() -> None:
    class Broken(FakeRuntime):
        def run(self, spec, prepared=None):
            out = super().run(spec, prepared)
            out.smoke_ok, out.smoke_detail = False, "smoke test 'pytest' exited 1: 'E  assert 500 == 200'"
            return out

    rt = Broken(image(health=HEALTH, ports=("8080/tcp",)), fs("/run"), FakeApp())
    with pytest.raises(SmokeTestFailed) as e:
        probe("app:1", ProbeOptions(smoke=("pytest",)), runtime=rt)
    assert e.value.exit_code == 2 and "your smoke test fails even writable" in str(e.value)
    assert "assert 500 == 200" in str(e.value)
    assert len(rt.specs) == 1


def test_smoke_without_a_port_is_refused_before_any_run() -> None:
    rt = FakeRuntime(image(health=HEALTH), fs("/run"), FakeApp())
    with pytest.raises(UsageError, match="add --publish PORT"):
        probe("app:1", ProbeOptions(smoke=("true",)), runtime=rt)
    assert rt.specs == []


def test_judge_fails_a_run_on_its_smoke_test_and_on_a_death_during_the_soak() -> None:
    ok = RunOutcome(started=True, stop_exit_code=0)
    assert judge(ok, 0, False)[0]
    assert judge(replace(ok, smoke_ok=False, smoke_detail="smoke test 'x' exited 1"), 0, False) == (
        False,
        "smoke test 'x' exited 1",
    )
    died = replace(ok, soak_detail="exited 1 20s into the 25s soak")
    assert judge(died, 0, False) == (False, "exited 1 20s into the 25s soak")


# -- what no run reached ---------------------------------------------------------------------------
def test_non_root_candidates_owned_group_and_world_writable_and_volumes() -> None:
    dirs = [
        _dir("/app", 1000, 1000),
        _dir("/app/cache", 1000, 1000),  # below a listed one: one line covers both
        _dir("/srv/shared", 0, 1000, 0o775),
        _dir("/tmp", mode=0o1777),
        _dir("/etc"),
        _dir("/var/lib/data", 1000, 1000),
        _dir("/var/log/app", 1000, 1000),
    ]
    found, more = unexercised(
        dirs, 1000, 1000, volumes=["/data"], mounted=["/var/lib/data"], written=["/var/log/app/x.log"]
    )
    assert [(u.path, u.reason.split(",")[0]) for u in found] == [
        ("/data", "a VOLUME of the image: writable on every platform"),
        ("/app", "owned by the app's user (uid 1000)"),
        ("/srv/shared", "writable by the app's group (gid 1000)"),
        ("/tmp", "writable by everyone"),
    ]
    assert more == 0


def test_root_candidates_are_the_images_own_signals() -> None:
    dirs = [
        _dir("/run"),
        _dir("/run/nginx"),
        _dir("/run/lock", mode=0o1777),  # the base system's
        _dir("/var/lib/apt"),
        _dir("/var/lib/dpkg"),
        _dir("/var/cache/apt/archives/partial", 42, 0, 0o700),  # apt's own user: the base system's
        _dir("/var/lib/nginx"),
        _dir("/var/lib/nginx/body"),
        _dir("/var/log/nginx"),
        _dir("/var/cache/nginx"),
        _dir("/srv/www", 33, 33),
        _dir("/tmp", mode=0o1777),
        _dir("/home/user", 1000, 1000),
    ]
    found, _ = unexercised(dirs, 0, 0, mounted=["/var/lib/nginx", "/var/log/nginx"])
    assert [u.path for u in found] == ["/run/nginx", "/srv/www", "/var/cache/nginx"]
    switched, _ = unexercised(dirs, 0, 0, switched_to=(33, 33))
    assert "/srv/www" in [u.path for u in switched]
    assert "the user the app switches to" in next(u.reason for u in switched if u.path == "/srv/www")
    none_of_33, _ = unexercised(dirs, 0, 0, switched_to=(44, 44))
    assert "/srv/www" not in [u.path for u in none_of_33]


def test_the_list_is_short_and_counts_the_rest() -> None:
    dirs = [_dir(f"/data{i:02}", 1000, 1000) for i in range(25)]
    found, more = unexercised(dirs, 1000, 1000)
    assert len(found) == LIMIT and more == 25 - LIMIT


# -- what the verdict rests on ---------------------------------------------------------------------
def test_basis_names_the_deciding_runs_and_what_ran() -> None:
    runs = [
        RunRecord("observe (writable)", False, (), True, "healthy", 2.0, 1.5),
        RunRecord("trace 1", True, ("/run",), True, "healthy", 2.0, 1.6),
        RunRecord("ablate /run", True, (), False, "exited 1", 1.0, 0.4),
        RunRecord("verify", True, ("/run",), True, "healthy", 1.8, 1.2),
    ]
    assert [r.purpose for r in deciding(runs)] == ["observe (writable)", "verify"]
    o = ProbeOptions(exercises=("true",), smoke=("curl x",), signals=("SIGHUP",), soak=5)
    b = basis(o, HealthSpec(("CMD-SHELL", "wget -q localhost")), runs, ("8080/tcp",))
    assert b.health == "wget -q localhost" and b.runs == (("observe (writable)", 1.5), ("verify", 1.2))
    text = b.summary()
    for part in (
        "health check 'wget -q localhost'",
        "1 exercise(s)",
        "1 smoke test(s)",
        "SIGHUP",
        "5s soak",
        "verify 1.2s",
    ):
        assert part in text
    failed = [runs[0], RunRecord("trace 2", True, (), False, "exited 1", 1.0, 0.5)]
    assert [r.purpose for r in deciding(failed)] == ["observe (writable)", "trace 2"]
    assert basis(ProbeOptions(), None, []).summary().startswith("no health check")


# -- the relay and the runner ----------------------------------------------------------------------
def test_addresses_are_loopback_distinct_and_free() -> None:
    taken = {"127.1.1.1"}
    seen = {smoke.address([8080], lambda h, p: h not in taken) for _ in range(300)}
    assert len(seen) == 300 and all(a.startswith("127.") for a in seen) and not seen & taken


def test_the_relay_publishes_on_the_runs_address_only_and_holds_no_privilege() -> None:
    kw = smoke.relay_kwargs("ecs5probe/netcheck:x", "172.18.0.2", [8080, 9000], "127.20.1.1", {"l": "1"})
    assert kw["ports"] == {"8080/tcp": ("127.20.1.1", 8080), "9000/tcp": ("127.20.1.1", 9000)}
    assert kw["cap_drop"] == ["ALL"] and kw["read_only"] and "no-new-privileges" in kw["security_opt"]
    script = kw["entrypoint"][-1]
    assert "nc -ll -p 8080 -e /busybox nc 172.18.0.2 8080" in script and script.endswith("wait")


def test_smoke_commands_run_here_with_the_runs_environment(tmp_path) -> None:
    env = smoke.environment("127.20.1.1", "c0ffee", "app:1")
    ok, detail = smoke.run_commands(
        ['test "$ECS5PROBE_HOST/$ECS5PROBE_CONTAINER/$ECS5PROBE_IMAGE" = 127.20.1.1/c0ffee/app:1', "test -f marker"],
        env,
        5,
        cwd=str(tmp_path),
    )
    assert not ok and "'test -f marker' exited 1 (no output)" in detail
    (tmp_path / "marker").write_text("")
    assert smoke.run_commands(["test -f marker"], env, 5, cwd=str(tmp_path)) == (True, "")


def test_a_hanging_smoke_command_is_killed_with_its_children_and_its_output_kept() -> None:
    t0 = time.monotonic()
    ok, detail = smoke.run_commands(["echo waiting; sleep 60 & wait"], smoke.environment("127.0.0.1", "c", "i"), 1)
    assert not ok and "killed after 1s (--timeout)" in detail and "waiting" in detail
    assert time.monotonic() - t0 < 10


# -- every report ----------------------------------------------------------------------------------
def _report() -> Report:
    r = ProbeResult(
        "upload:1",
        True,
        reason="verified read-only with exactly these mounts",
        unexercised=[Unexercised("/var/lib/uploads", "owned by the app's user (uid 10001), mode 0755")],
        unexercised_more=2,
        basis=Basis(health="/services check", runs=(("observe (writable)", 1.2), ("verify", 1.3))),
    )
    return Report([r])


def test_every_format_tells_what_no_run_reached_and_what_the_verdict_rests_on() -> None:
    report = _report()
    doc = json.loads(ReportFormat.JSON.to_renderer()(report))
    assert doc["unexercised"] == [
        {"path": "/var/lib/uploads", "reason": "owned by the app's user (uid 10001), mode 0755"}
    ]
    assert doc["unexercisedMore"] == 2 and doc["basis"]["healthCheck"] == "/services check"
    assert doc["basis"]["runs"][1] == {"purpose": "verify", "ranSeconds": 1.3}
    for fmt in (ReportFormat.TABLE, ReportFormat.MARKDOWN):
        text = fmt.to_renderer()(report)
        assert "/var/lib/uploads" in text and "2 more" in text and "rests on" in text, fmt
    sarif = json.loads(ReportFormat.SARIF.to_renderer()(report))
    notes = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "ECS5P004"]
    assert len(notes) == 1 and notes[0]["level"] == "note" and "/var/lib/uploads" in notes[0]["message"]["text"]
    assert sarif["runs"][0]["properties"]["basis"]["upload:1"].startswith("health check '/services check'")
    junit = ET.fromstring(ReportFormat.JUNIT.to_renderer()(report).split("\n", 1)[1])
    out = junit.find("testcase/system-out")
    assert out is not None and out.text is not None
    assert "unexercised: /var/lib/uploads" in out.text and "rests on: health check" in out.text


def test_the_json_report_round_trips_through_merge() -> None:
    from ecs5probe.app.shard import result_from_dict

    r = _report().results[0]
    back = result_from_dict(json.loads(ReportFormat.JSON.to_renderer()(_report())))
    assert back.unexercised == r.unexercised and back.unexercised_more == 2 and back.basis == r.basis


def test_smoke_publish_soak_signal_per_image_in_the_configuration_file(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("ECS5PROBE_CONFIG", "ECS5PROBE_SMOKE", "ECS5PROBE_PUBLISH", "ECS5PROBE_SOAK", "ECS5PROBE_SIGNAL"):
        monkeypatch.delenv(var, raising=False)

    class Two(FakeRuntime):
        def inspect(self, name: str):
            return replace(self.config, ref=name)

    rt = Two(image(health=HEALTH), fs("/run"), FakeApp())
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    (tmp_path / ".ecs5probe.yaml").write_text(
        "jobs: 1\nimages:\n"
        "  - image: web:1\n    publish: [8080]\n    smoke: ['sh tests/smoke.sh']\n    signal: [HUP]\n    soak: 3\n"
        "  - image: worker:1\n"
    )
    r = cli_invoke(["probe", "-q"])
    assert r.exit_code == 0, r.output
    by = {s.image: s for s in rt.specs if s.observe}
    web, worker = by["web:1"], by["worker:1"]
    assert (web.smoke, web.ports, web.signals, web.soak) == (("sh tests/smoke.sh",), ("8080/tcp",), ("SIGHUP",), 3.0)
    assert (worker.smoke, worker.ports, worker.signals, worker.soak) == ((), (), (), 0.0)


# -- ports a document names ------------------------------------------------------------------------
def test_ports_from_task_definitions_pods_and_compose() -> None:
    from ecs5probe.core.publish import compose_ports, ecs_ports, host_variable, pod_ports

    assert ecs_ports({"portMappings": [{"containerPort": 8080}, {"containerPort": 53, "protocol": "udp"}]}) == (8080,)
    assert pod_ports({"ports": [{"containerPort": 80}, {"name": "metrics", "containerPort": "9090"}]}) == (80, 9090)
    service = {"ports": ["8080:80", "127.0.0.1:9000:9001/tcp", 5000, "53:53/udp", "7000-7001", {"target": 6000}]}
    assert compose_ports(service) == (80, 9001, 5000, 7000, 7001, 6000)
    assert compose_ports({}) == () and ecs_ports({"portMappings": [{"containerPort": "${PORT}"}]}) == ()
    assert host_variable("log-router") == "ECS5PROBE_HOST_LOG_ROUTER" and host_variable("web") == "ECS5PROBE_HOST_WEB"


def test_a_documents_ports_join_publish_for_its_container() -> None:
    from ecs5probe.core.options import ContainerSettings

    o = ProbeOptions(smoke=("true",), publish=(9000,)).with_container(ContainerSettings(publish=(8080,)))
    assert o.ports(()) == ("8080/tcp", "9000/tcp")


def test_a_smoke_test_without_a_port_on_any_image_stops_before_any_image_is_probed(monkeypatch) -> None:
    class Two(FakeRuntime):
        def inspect(self, name: str):
            ports = ("8080/tcp",) if name == "web:1" else ()
            return replace(self.config, ref=name, ports=ports)

    rt = Two(image(health=HEALTH), fs("/run"), FakeApp())
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    r = cli_invoke(["probe", "web:1", "worker:1", "--smoke", "true", "-j", "1"])
    assert r.exit_code == 2 and "worker:1: --smoke needs a port" in r.output and "add --publish PORT" in r.output
    assert rt.specs == []


def test_a_probe_with_smoke_tests_is_never_cached(tmp_path) -> None:
    """The smoke tests are the repository's own code, which no key holds: probed every time."""
    from ecs5probe.app import probing
    from ecs5probe.core.deployment import Deployment
    from ecs5probe.platforms import to_platform

    rt = FakeRuntime(image(health=HEALTH, ports=("8080/tcp",), id="sha256:" + "b" * 64), fs("/run"), FakeApp())
    opts = ProbeOptions(jobs=1, cache_dir=str(tmp_path / "cache"), smoke=("true",))
    results = []
    for _ in range(2):
        (member,) = probing.probe_deployment(rt, Deployment.of_image("app:1"), opts, to_platform(opts.platform)).members
        results.append(member.result)
    assert [r.cached for r in results] == [None, None] and len(rt.specs) == 4
