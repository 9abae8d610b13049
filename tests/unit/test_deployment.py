"""Deployments as each platform runs them: the model's order, and each platform's reading of it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ecs5probe.core.deployment import (
    Condition,
    Dependency,
    Deployment,
    Member,
    Network,
    SharedVolume,
    VolumeKind,
    shared_paths,
)
from ecs5probe.core.options import ProbeOptions
from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.core.probe import probe_image
from ecs5probe.core.together import probe_deployment
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import ContainerKind
from ecs5probe.platforms import get
from tests.fakes import HEALTH, FakeApp, FakeRuntime, fs, image

DATA = Path(__file__).resolve().parents[1] / "data" / "deployments"


def _d(*members: Member) -> Deployment:
    return Deployment("d", members)


def test_order_levels_and_what_runs_first() -> None:
    d = _d(
        Member("proxy", "p", depends_on=(Dependency("app", Condition.HEALTHY),)),
        Member("app", "a", depends_on=(Dependency("cache", Condition.HEALTHY),)),
        Member("cache", "c"),
        Member("logship", "l", volumes_from=(("proxy", True),)),
        Member("metrics", "m"),
    )
    order = d.order()
    assert order.index("cache") < order.index("app") < order.index("proxy") < order.index("logship")
    assert d.levels()[0] == ["cache", "metrics"]  # independent: probed side by side
    assert d.closure("logship") == ["cache", "app", "proxy", "logship"]
    assert d.needs("logship") == ["proxy"]  # volumesFrom: its source runs first


def test_a_cycle_or_an_unknown_dependency_is_a_document_error() -> None:
    with pytest.raises(TaskDefinitionError, match="cycle among a, b"):
        _d(Member("a", "x", depends_on=(Dependency("b"),)), Member("b", "y", depends_on=(Dependency("a"),))).order()
    with pytest.raises(TaskDefinitionError, match="depends on 'ghost'"):
        _d(Member("a", "x", depends_on=(Dependency("ghost"),))).order()


def test_ecs_awsvpc_task_shares_the_namespace_and_volumes_from_its_mounts() -> None:
    doc = json.loads((DATA / "relay-task.json").read_text())
    d = get("ecs").deployment(doc, "relay")
    assert d.network is Network.SHARED and [v.name for v in d.volumes] == ["proxy-logs"]
    app, logship = d.member("app"), d.member("logship")
    assert app.depends_on == (Dependency("cache", Condition.HEALTHY),)
    assert logship.essential is False and logship.volumes_from == (("proxy", True),)
    shared = shared_paths(d, logship)
    assert shared["/var/log/nginx"].volume == "proxy-logs" and shared["/var/log/nginx"].read_only
    assert d.order() == ["cache", "app", "proxy", "logship"]


def test_ecs_bridge_resolves_only_linked_names_and_docker_volumes_copy() -> None:
    td = {
        "family": "b",
        "networkMode": "bridge",
        "volumes": [{"name": "data", "dockerVolumeConfiguration": {"scope": "task"}}, {"name": "scratch"}],
        "containerDefinitions": [
            {"name": "web", "image": "w", "links": ["db:database", "cache"]},
            {"name": "db", "image": "d", "mountPoints": [{"sourceVolume": "data", "containerPath": "/var/lib/db"}]},
            {"name": "cache", "image": "c"},
            {"name": "lonely", "image": "l"},
        ],
    }
    d = get("ecs").deployment(td, "b")
    assert d.network is Network.BRIDGE
    assert {m.name: m.aliases for m in d.members} == {"web": (), "db": ("database",), "cache": ("cache",), "lonely": ()}
    assert {v.name: v.kind for v in d.volumes} == {"data": VolumeKind.COPY, "scratch": VolumeKind.EMPTY}
    td["containerDefinitions"][1]["mountPoints"][0]["sourceVolume"] = "nope"
    with pytest.raises(TaskDefinitionError, match="names volume 'nope'"):
        get("ecs").deployment(td, "b")


def test_a_pod_runs_init_containers_first_and_keeps_native_sidecars() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "volumes": [{"name": "logs", "emptyDir": {}}, {"name": "fast", "emptyDir": {"medium": "Memory"}}],
            "initContainers": [
                {"name": "migrate", "image": "m"},
                {
                    "name": "shipper",
                    "image": "s",
                    "restartPolicy": "Always",
                    "volumeMounts": [{"name": "logs", "mountPath": "/logs", "readOnly": True}],
                },
            ],
            "containers": [
                {"name": "web", "image": "w", "volumeMounts": [{"name": "logs", "mountPath": "/var/log/web"}]}
            ],
        },
    }
    d = get("kubernetes").deployment(pod, "Pod/p")
    assert d.network is Network.SHARED
    assert {v.name: v.kind for v in d.volumes} == {"logs": VolumeKind.EMPTY, "fast": VolumeKind.MEMORY}
    migrate, shipper, web = d.members
    assert migrate.kind is ContainerKind.INIT and migrate.settings.job is True
    assert shipper.kind is ContainerKind.INIT and not shipper.settings.job  # a sidecar keeps running
    assert shipper.depends_on == (Dependency("migrate", Condition.SUCCESS),)
    assert web.depends_on == (Dependency("migrate", Condition.SUCCESS), Dependency("shipper", Condition.START))
    assert web.mounts[0].volume == "logs" and shipper.mounts[0].read_only
    assert d.order() == ["migrate", "shipper", "web"]


def test_a_compose_project_resolves_service_names_with_its_conditions() -> None:
    doc = {
        "services": {
            "web": {"image": "w", "depends_on": {"api": {"condition": "service_healthy"}}, "tmpfs": ["/run"]},
            "api": {"image": "a", "depends_on": ["db"], "volumes": ["uploads:/srv/uploads", "./conf:/etc/api:ro"]},
            "db": {"image": "d", "volumes": [{"type": "volume", "source": "pgdata", "target": "/var/lib/pg"}]},
            "backup": {"image": "b", "volumes_from": ["db:ro"]},
        },
        "volumes": {"uploads": {}, "pgdata": None},
    }
    d = get("compose").deployment(doc, "project")
    assert d.network is Network.BRIDGE and {m.name: m.aliases for m in d.members}["api"] == ("api",)
    assert d.member("web").depends_on == (Dependency("api", Condition.HEALTHY),)
    assert d.member("api").depends_on == (Dependency("db", Condition.START),)
    assert [u.path for u in d.member("api").mounts] == ["/srv/uploads"]  # the host's bind mount is left out
    assert d.member("web").tmpfs == ("/run",)
    assert d.member("backup").volumes_from == (("db", True),)
    assert shared_paths(d, d.member("backup"))["/var/lib/pg"].read_only
    assert {v.name: v.kind for v in d.volumes} == {"uploads": VolumeKind.COPY, "pgdata": VolumeKind.COPY}
    doc["services"]["web"]["depends_on"] = {"api": {"condition": "service_happy"}}
    with pytest.raises(TaskDefinitionError, match="service_happy"):
        get("compose").deployment(doc, "project")


class _Members(FakeRuntime):
    """The fake runtime with sandboxes: what was made, started, stopped and removed, in order."""

    def __init__(self, *a, fail_start: str = "", **kw):
        super().__init__(*a, **kw)
        self.events: list[str] = []
        self.fail_start = fail_start
        self.box_specs: list[RunSpec] = []

    def sandbox(self, network: Network, attach=None, publish=()):
        rt = self

        class Running:
            def __init__(self, spec):
                self.spec, self.stops = spec, 0
                self.started = RunOutcome(started=True, start_detail="healthy", stop_exit_code=0)

            def stop(self):
                self.stops += 1
                rt.events.append(f"stop {self.spec.purpose}")
                return replace(self.started, duration=0.01)

        class Box:
            def __init__(self, kind: Network):
                self.kind, self.network = kind, f"{kind}-net"

            def __enter__(self):
                rt.events.append(f"open {self.kind}")
                self.running: list[Running] = []
                return self

            def __exit__(self, *exc):
                for r in reversed(self.running):
                    if not r.stops:
                        r.stop()
                rt.events.append("close")

            def volume(self, kind: VolumeKind) -> str:
                return f"vol-{kind}"

            def start(self, spec):
                if rt.fail_start and spec.purpose.endswith(rt.fail_start):
                    raise RuntimeError("the daemon refused")
                rt.events.append(f"start {spec.purpose}")
                rt.box_specs.append(spec)
                r = Running(spec)
                self.running.append(r)
                return r

        return Box(network)


def _pair() -> Deployment:
    return Deployment(
        "pair",
        (Member("cache", "app:1"), Member("web", "app:1", depends_on=(Dependency("cache", Condition.HEALTHY),))),
        Network.SHARED,
        (SharedVolume("logs"),),
    )


def test_one_container_is_probed_alone_exactly_as_an_image() -> None:
    app = FakeApp(writes=["/run/app.pid"])
    rt = _Members(image(health=HEALTH), fs("/run"), app)
    done = probe_deployment(rt, Deployment.of_image("app:1"), ProbeOptions(), get("ecs"))
    assert done.alone and rt.events == []  # no sandbox: its own runs only
    (m,) = done.members
    alone = probe_image(FakeRuntime(image(health=HEALTH), fs("/run"), app), "app:1", ProbeOptions(), get("ecs"))
    assert m.name == "app:1" and m.result.verified and done.verified
    assert [x.container_path for x in m.result.mounts] == [x.container_path for x in alone.mounts] == ["/run"]
    assert [r.purpose for r in m.result.runs] == [r.purpose for r in alone.runs]


def test_a_deployment_s_members_run_in_sandboxes_that_stop_them_last_started_first() -> None:
    rt = _Members(image(health=HEALTH), fs("/run"), FakeApp())
    done = probe_deployment(rt, _pair(), ProbeOptions(), get("ecs"))
    assert done.verified and not done.alone and [m.name for m in done.members] == ["cache", "web"]
    writable = rt.events[: rt.events.index("close") + 1]
    assert writable == [
        "open shared",
        "start deployment (writable): cache",
        "start deployment (writable): web",
        "stop deployment (writable): web",
        "stop deployment (writable): cache",
        "close",
    ]
    # web's probe ran with cache beside it; the sandbox stopped cache when the probe was done
    assert "start beside (writable): cache" in rt.events
    assert rt.events.count("close") == rt.events.count("open shared") == 4  # writable, cache, web, together
    web = [s for s in rt.specs if s.purpose.startswith(("observe", "trace"))]
    assert {s.network for s in web} == {"shared-net"}


def test_a_member_that_cannot_start_leaves_nothing_running() -> None:
    rt = _Members(image(health=HEALTH), fs("/run"), FakeApp(), fail_start="web")
    with pytest.raises(RuntimeError, match="refused"):
        probe_deployment(rt, _pair(), ProbeOptions(), get("ecs"))
    assert rt.events == [
        "open shared",
        "start deployment (writable): cache",
        "stop deployment (writable): cache",
        "close",
    ]


def test_the_soak_holds_the_read_only_deployment_up_together() -> None:
    """--soak: the deployment's final read-only run lasts it too (held by its last service's start,
    the others running meanwhile), as each container's own runs do; no soak where nothing is verified."""
    rt = _Members(image(health=HEALTH), fs("/run"), FakeApp())
    done = probe_deployment(rt, _pair(), ProbeOptions(soak=7), get("ecs"))
    assert done.verified
    soaked = {s.purpose: s.soak for s in rt.box_specs if s.soak}
    assert soaked == {"deployment (read-only, together): web": 7.0}
    assert {s.soak for s in rt.specs} == {7.0}  # web's and cache's own runs
