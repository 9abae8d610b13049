"""Docker argument builders: a RunSpec becomes exactly the container ECS would run."""

from ecs5probe.core.ports import MountSpec, RunSpec
from ecs5probe.model import HealthSpec
from ecs5probe.runtime.args import (
    SESSION_LABEL,
    create_kwargs,
    health_argv,
    healthcheck,
    tmpfs_options,
    volume_mount,
)


def test_read_only_no_network_never_privileged() -> None:
    kw = create_kwargs(RunSpec(image="x", purpose="trace"), {SESSION_LABEL: "s1"}, {})
    assert kw["read_only"] is True and kw["network_mode"] == "none" and kw["privileged"] is False
    assert kw["labels"][SESSION_LABEL] == "s1"
    assert "tmpfs" not in kw and "mounts" not in kw and "healthcheck" not in kw


def test_tmpfs_options_size_in_mib_and_user_options() -> None:
    m = MountSpec("/data", "tmpfs", ("uid=1000", "gid=1000", "size=1m"), 128)
    assert tmpfs_options(m) == "uid=1000,gid=1000,size=128m"
    assert tmpfs_options(MountSpec("/v", "tmpfs", read_only=True)).startswith("ro,")


def test_bind_is_an_empty_volume_and_volume_copies() -> None:
    assert volume_mount(MountSpec("/b", "bind"), "v1")["VolumeOptions"] == {"NoCopy": True}
    assert volume_mount(MountSpec("/v", "volume", copy_content=True), "v2")["VolumeOptions"] == {"NoCopy": False}
    assert volume_mount(MountSpec("/v", "volume", read_only=True), "v3")["ReadOnly"] is True


def test_mounts_split_by_kind() -> None:
    spec = RunSpec(image="x", purpose="p", mounts=(MountSpec("/tmp"), MountSpec("/data", "bind")))
    kw = create_kwargs(spec, {}, {"/data": "vol-1"})
    assert kw["tmpfs"] == {"/tmp": "size=64m"}
    assert kw["mounts"][0]["Source"] == "vol-1" and kw["mounts"][0]["Target"] == "/data"


def test_healthcheck_in_nanoseconds() -> None:
    h = healthcheck(HealthSpec(("CMD", "true"), interval=0.5, timeout=5, retries=0, start_period=2))
    assert h == {
        "test": ["CMD", "true"],
        "interval": 500_000_000,
        "timeout": 5_000_000_000,
        "retries": 1,
        "start_period": 2_000_000_000,
    }


def test_overrides_pass_through() -> None:
    spec = RunSpec(
        image="x", purpose="p", entrypoint=("/e",), command=("a", "b"), user="1000", workdir="/w", environment=("A=1",)
    )
    kw = create_kwargs(spec, {}, {})
    assert (kw["entrypoint"], kw["command"], kw["user"], kw["working_dir"], kw["environment"]) == (
        ["/e"],
        ["a", "b"],
        "1000",
        "/w",
        ["A=1"],
    )


def test_diff_drops_mount_targets_and_their_changed_parents() -> None:
    from ecs5probe.runtime.args import without_mount_targets

    diff = [
        ("C", "/sbin"),
        ("A", "/sbin/docker-init"),
        ("A", "/.ecs5probe"),
        ("C", "/var"),
        ("A", "/var/x"),
        ("C", "/run"),
        ("A", "/run/app.pid"),
        ("A", "/tmp"),
    ]
    assert without_mount_targets(diff, ["/.ecs5probe", "/sbin/docker-init", "/tmp"]) == [
        ("C", "/var"),
        ("A", "/var/x"),
        ("C", "/run"),
        ("A", "/run/app.pid"),
    ]
    # an image without /sbin (busybox): Docker adds it for its init; the app's own writes stay
    assert without_mount_targets(
        [("A", "/sbin"), ("A", "/sbin/docker-init"), ("A", "/sbin/app.conf")], ["/sbin/docker-init"]
    ) == [("A", "/sbin/app.conf")]


def test_health_argv_as_docker_runs_the_test() -> None:
    assert health_argv(["CMD", "pg_isready", "-h", "/run/x"]) == ["pg_isready", "-h", "/run/x"]
    assert health_argv(["CMD-SHELL", "curl -f http://localhost/ || exit 1"]) == [
        "/bin/sh",
        "-c",
        "curl -f http://localhost/ || exit 1",
    ]
    # the image's SHELL, as Docker uses it for CMD-SHELL
    assert health_argv(["CMD-SHELL", "exit 0"], ["/bin/bash", "-o", "pipefail", "-c"]) == [
        "/bin/bash",
        "-o",
        "pipefail",
        "-c",
        "exit 0",
    ]
    assert health_argv(["NONE"]) is None
    assert health_argv([]) is None
    assert health_argv(["CMD"]) is None
