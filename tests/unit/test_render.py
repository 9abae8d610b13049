"""Renderers: the ECS fragment and the JSON report."""

import json

from ecs5probe.model import Evidence, Mount, ProbeResult, RunRecord
from ecs5probe.platforms.ecs import fragment as ecs
from ecs5probe.render import json as json_render

MOUNTS = [
    Mount("/tmp", "tmpfs", size_mib=64),
    Mount("/home/app/data", "tmpfs", ("uid=1000", "gid=1000"), 128),
    Mount("/data", "bind"),
    Mount("/srv/data", "volume"),
    Mount("/var/cache/x", "tmpfs", required=False),
]


def test_volume_names_are_stable_and_valid() -> None:
    assert ecs.volume_name("/var/lib/nginx") == "var-lib-nginx"
    assert ecs.volume_name("/srv/My Data/") == "srv-my-data"


def test_fragment_ec2() -> None:
    f = ecs.fragment(MOUNTS, "EC2")
    c = f["containerDefinition"]
    assert c["readonlyRootFilesystem"] is True
    assert c["linuxParameters"]["tmpfs"] == [
        {"containerPath": "/tmp", "size": 64},
        {"containerPath": "/home/app/data", "size": 128, "mountOptions": ["uid=1000", "gid=1000"]},
    ]
    assert c["mountPoints"] == [
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": False},
        {"sourceVolume": "srv-data", "containerPath": "/srv/data", "readOnly": False},
    ]
    assert f["volumes"] == [
        {"name": "data"},
        {"name": "srv-data", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
    ]
    assert all("/var/cache/x" not in json.dumps(v) for v in f.values())  # optional mounts are not emitted


def test_fragment_fargate_has_no_docker_volume_configuration() -> None:
    f = ecs.fragment(MOUNTS, "FARGATE")
    assert all("dockerVolumeConfiguration" not in v and "host" not in v for v in f["volumes"])
    assert any("VOLUME /srv/data" in n for n in f["notes"])
    assert any("2026-01-06" in n for n in f["notes"])


def test_json_report_schema() -> None:
    r = ProbeResult(
        "img:1",
        True,
        mounts=[Mount("/tmp", evidence=(Evidence("diff", "/tmp/x", "A /tmp/x"),))],
        runs=[RunRecord("observe", False, (), True, "healthy", 1.23456)],
        duration_seconds=2.5,
    )
    doc = json.loads(json_render.render([r]))
    assert {"image", "verified", "mounts", "runs", "durationSeconds", "schemaVersion"} <= set(doc)
    m = doc["mounts"][0]
    assert {"containerPath", "kind", "mountOptions", "required", "hidesImageContent", "evidence"} <= set(m)
    assert m["evidence"] == [{"source": "diff", "path": "/tmp/x", "line": "A /tmp/x"}]
    assert doc["runs"][0]["durationSeconds"] == 1.235
    assert isinstance(json.loads(json_render.render([r, r])), list)
