"""The runtime's fast paths give the answers of Docker's slow ones: docker diff read from the container's
own layer, the health test run from the start, runs prepared ahead (their volumes filled) and discarded."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from ecs5probe.core.ports import MountSpec, RunSpec
from ecs5probe.model import HealthSpec
from ecs5probe.runtime import bundle
from ecs5probe.runtime import layerdiff as layer
from ecs5probe.runtime.args import SESSION_LABEL, without_mount_targets
from ecs5probe.runtime.docker import DockerFacts, DockerRuntime, build_image

pytestmark = pytest.mark.integration

IMAGE = "ecs5probe-test/layer:1"
MANY = "ecs5probe-test/many-files:1"
DOCKERFILE = """FROM ecs5probe/busybox
USER root
RUN mkdir -p /srv/old/sub /srv/dir-gone /srv/data /srv/scratch && echo a > /srv/old/sub/f && echo b > /srv/keep \\
 && echo c > /srv/gone && echo d > /srv/dir-gone/x && echo e > /srv/mode && echo shipped > /srv/data/file \\
 && mkdir -p /srv/private/sub && echo p > /srv/private/sub/f && : > /srv/private/empty \\
 && chown -R 100:102 /srv/private && chmod 700 /srv/private /srv/private/sub
"""
#: every kind of change: delete a file and a directory, append, chmod, replace a directory whole
#: (opaque), new nested directories, a symlink, a fifo, a directory made and removed again
CHANGES = (
    "rm /srv/gone; rm -r /srv/dir-gone; echo z >> /srv/keep; chmod 600 /srv/mode; rm -rf /srv/old;"
    " mkdir /srv/old; echo n > /srv/old/new; mkdir -p /var/new/d; echo x > /var/new/d/f;"
    " ln -s /nowhere /var/new/l; mkdir /tmp/e; rmdir /tmp/e; mkfifo /tmp/fifo;"
    " touch /srv/scratch/lock; rm /srv/scratch/lock"
)


@pytest.fixture(scope="module")
def rt(built_samples, tmp_path_factory):
    runtime = DockerRuntime()
    ctx: Path = tmp_path_factory.mktemp("layer")
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    build_image(runtime, str(ctx), IMAGE)
    yield runtime
    runtime.close()


def test_layer_diff_is_docker_diff_and_the_directories_written_into(rt):
    spec = RunSpec(
        image=IMAGE,
        purpose="observe",
        read_only=False,
        mode="job",
        observe=True,
        timeout=30,
        entrypoint=("/bin/sh", "-c"),
        command=(CHANGES,),
    )
    out = rt.run(spec)
    assert out.exit_code == 0, out.logs
    assert out.handle is not None
    api = rt.client().api
    try:
        docker_own = without_mount_targets(
            [({0: "C", 1: "A", 2: "D"}[d["Kind"]], d["Path"]) for d in api.diff(out.handle)], out.diff_targets
        )
        fast = rt.layer_diff(out.handle, None)
        attrs = api.inspect_container(out.handle)
        if layer.upper_dir(attrs) is None:  # a driver with a native diff: Docker's own is used
            assert fast is None
            assert sorted(rt.diff(out.handle)) == sorted(docker_own)
        else:
            assert fast is not None
            # docker diff's answer, and the directory the app wrote into and left as it was (a lock file
            # made and removed): Docker's diff does not list it, the layer keeps it
            assert sorted(fast) == sorted([*docker_own, ("C", "/srv/scratch")])
            assert sorted(rt.diff(out.handle)) == sorted(fast)
        assert ("D", "/srv/gone") in docker_own and ("A", "/var/new/d/f") in docker_own
    finally:
        rt.discard(out.handle)


def _service(health: HealthSpec, command: str) -> RunSpec:
    return RunSpec(
        image=IMAGE,
        purpose="service",
        health=health,
        timeout=20,
        stop_grace=2,
        entrypoint=("/bin/sh", "-c"),
        command=(command,),
        read_only=False,
    )


def test_health_is_seen_before_dockers_first_check(rt):
    """Docker 20.10 runs a health check's first test one interval after the start: a 60 s interval
    would fail this run (20 s). The runtime runs the same test itself from the start."""
    health = HealthSpec(test=("CMD-SHELL", "test -e /tmp/ready"), interval=60, timeout=5, retries=3)
    out = rt.run(_service(health, "sleep 1; touch /tmp/ready; exec sleep 600"))
    assert out.started, out.start_detail
    assert out.start_detail == "healthy"


@pytest.mark.parametrize(
    "test",
    [
        ("CMD-SHELL", "exit 1"),  # a failing test: Docker's own check says unhealthy
        ("CMD", "/no/such/program"),  # a test that cannot even start
    ],
)
def test_a_failing_health_test_is_still_unhealthy(rt, test):
    out = rt.run(_service(HealthSpec(test=test, interval=0.5, timeout=2, retries=2), "exec sleep 600"))
    assert not out.started
    assert out.start_detail.startswith("unhealthy"), out.start_detail


def _mine(rt: DockerRuntime) -> tuple[set[str], set[str]]:
    api = rt.client().api
    label = {"label": f"{SESSION_LABEL}={rt.session}"}
    containers = {c["Id"] for c in api.containers(all=True, filters=label)}
    volumes = {v["Name"] for v in api.volumes(filters=label).get("Volumes") or []}
    return containers, volumes


def test_prepared_runs_keep_their_copied_volume_and_discard_leaves_nothing(rt):
    before = _mine(rt)
    spec = RunSpec(
        image=IMAGE,
        purpose="prepared",
        mounts=(MountSpec("/srv/data", "volume", copy_content=True),),
        mode="job",
        timeout=30,
        entrypoint=("/bin/sh", "-c"),
        command=("grep -q shipped /srv/data/file && echo more > /srv/data/new",),
    )
    ran, unused = rt.prepare(spec), rt.prepare(spec)
    containers, volumes = _mine(rt)
    assert {ran, unused} <= containers and len(volumes - before[1]) == 2  # created, each with its own copy
    out = rt.run(spec, prepared=ran)
    assert out.exit_code == 0, out.logs  # the image's content was copied in, and the volume is writable
    rt.discard(unused)
    assert _mine(rt) == before  # the run removed its own; discard removed the one never run


def test_facts_from_the_kept_running_container_equal_a_created_ones(rt):
    """The image-facts container sleeps (the bundle's busybox), started beside the observe run; what it
    reads of the image is what a created, never started container reads: directories are then scanned
    by find/stat in it, a directory kept to another user (0700) too."""
    ok, how = rt.tracer()
    assert ok, how
    facts, _, _ = rt.facts(IMAGE, "root")
    api = rt.client().api
    try:
        observe = RunSpec(image=IMAGE, purpose="observe", read_only=False, mode="job", observe=True, timeout=30)
        out = rt.run(replace(observe, entrypoint=("/bin/true",)))
        rt.discard(out.handle)
        fid = facts._id
        _wait_running(api, fid)
        assert api.inspect_container(fid)["State"]["Running"]
        created = api.create_container(IMAGE, entrypoint=["/x"], labels=rt.labels)["Id"]
        rt.track(container=created)
        plain = DockerFacts(rt, created, bundle.SLEEPER)  # not running: exec refused, read by archive
        for path in ("/srv/data", "/srv/old", "/srv/old/sub/f", "/tmp", "/etc/passwd", "/nope", "/bin/sh"):
            assert facts.lstat(path) == plain.lstat(path), path
        for path in ("/srv/data", "/srv/old", "/tmp", "/srv/private"):
            assert facts.stat(path) == plain.stat(path), path
        # /etc alike but for its bytes: Docker writes hosts, hostname and resolv.conf of a running one
        assert replace(facts.stat("/etc"), content_bytes=0) == replace(plain.stat("/etc"), content_bytes=0)
        private = facts.stat("/srv/private")
        assert (private.uid, private.gid, private.mode, private.has_content) == (100, 102, 0o700, True)
        assert set(private.entries) == {"sub/", "empty"}
        # the bytes it ships (a copying volume's size), counted by both ways alike
        assert (private.content_bytes, facts.stat("/srv/data").content_bytes) == (len("p\n"), len("shipped\n"))
        assert facts._exec_scan("/srv/private", 5000) is not None  # read by find/stat, not the archive
        assert plain._exec_scan("/srv/private", 5000) is None  # created, not running: by archive
        assert facts.read_file("/srv/data/file") == plain.read_file("/srv/data/file") == "shipped\n"
        plain.close()
    finally:
        facts.close()


def test_an_exec_scan_whose_output_was_lost_is_read_from_the_archive(rt, monkeypatch):
    """A loaded daemon can lose a quick exec's output (exit code 0, nothing printed): such a scan
    names not even the directory find started from, and must not read as "the image ships files
    here" (a copying volume where a tmpfs is right): the archive answers instead."""
    ok, how = rt.tracer()
    assert ok, how
    facts, _, _ = rt.facts(IMAGE, "root")
    try:
        api = rt.client().api
        _wait_running(api, facts._id)
        truth = DockerFacts(rt, facts._id, bundle.SLEEPER)
        want = {p: truth.stat(p) for p in ("/srv/scratch", "/srv/data")}
        assert want["/srv/scratch"].has_content is False and want["/srv/data"].has_content is True
        ran = api.exec_start
        monkeypatch.setattr(api, "exec_start", lambda *a, **k: ran(*a, **k) and b"")  # ran, exit 0, output lost
        lost = DockerFacts(rt, facts._id, bundle.SLEEPER)
        assert lost._exec_scan("/srv/scratch", 5000) is None
        assert {p: lost.stat(p) for p in want} == want
    finally:
        facts.close()


def test_an_unexpected_daemon_error_is_one_line_of_our_own() -> None:
    import docker.errors
    import pytest

    from ecs5probe.errors import Ecs5ProbeError
    from ecs5probe.runtime.session import Session

    s = Session(client_factory=lambda: None)
    with pytest.raises(Ecs5ProbeError, match="docker failed during reading /x: boom"):
        with s.daemon("reading /x"):
            raise docker.errors.APIError("boom")


def test_scans_side_by_side_are_all_read_by_find_in_the_sleeping_container(rt, tmp_path):
    """Directories are scanned from several threads at once (the writable run's paths, the wave's
    mounts, the image's directories): each scan is a shell, find, stat and head in the sleeping
    container, and none may fail for want of a process (find's fork failed with EAGAIN under a
    limit of 8, and each such scan fell back to reading its directory's whole archive: 3.5 s for
    PostgreSQL's data directory, in a third of its probes)."""
    ok, how = rt.tracer()
    assert ok, how
    (tmp_path / "Dockerfile").write_text(
        "FROM ecs5probe/busybox\nUSER root\n"
        "RUN for d in a b c d; do mkdir -p /srv/$d && cd /srv/$d && seq 1 1500 | xargs touch; done\n"
    )
    build_image(rt, str(tmp_path), MANY)
    facts, _, _ = rt.facts(MANY, "root")
    try:
        _wait_running(rt.client().api, facts._id)
        dirs = ["/srv/a", "/srv/b", "/srv/c", "/srv/d"] * 2
        with ThreadPoolExecutor(max_workers=len(dirs)) as pool:
            found = list(pool.map(lambda d: facts._exec_scan(d, 5000), dirs))
        assert all(f is not None and len(f) == 1501 for f in found), [len(f) if f else f for f in found]
        assert facts._exec_dirs(200_000) is not None
    finally:
        facts.close()


def _wait_running(api, cid: str) -> None:
    """The facts container sleeps once started, in the background: wait (at most 5 s) until it runs."""
    for _ in range(50):
        if api.inspect_container(cid)["State"]["Running"]:
            return
        time.sleep(0.1)
