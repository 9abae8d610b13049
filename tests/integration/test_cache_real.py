"""The result cache on real images: a hit starts no container; a rebuild under the same tag is probed."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecs5probe import cli
from ecs5probe.runtime.docker import DockerRuntime

pytestmark = pytest.mark.integration


def _probe(image: str, cache: Path) -> dict:
    r = CliRunner().invoke(cli.main, ["probe", image, "--format", "json", "-q", "--cache-dir", str(cache)])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _build(client, base: str, tag: str, extra: str) -> str:
    dockerfile = f"FROM {base}\nRUN echo {extra} > /extra\n"
    img, _ = client.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True)
    return str(img.id)


def test_a_hit_starts_no_container_and_a_rebuild_under_the_same_tag_is_probed(
    built_samples, docker_client, tmp_path, monkeypatch
) -> None:
    tag = f"ecs5probe-test/cache-{uuid.uuid4().hex[:8]}:latest"
    made: list[str] = []  # removed at the end: only what this test built
    try:
        first_id = _build(docker_client, built_samples["03-pidfile"].tag, tag, "one")
        made.append(first_id)
        fresh = _probe(tag, tmp_path)
        assert fresh["verified"] and "cached" not in fresh
        assert [m["containerPath"] for m in fresh["mounts"] if m["required"]] == ["/run"]

        def no_container(*a: object, **kw: object) -> None:
            raise AssertionError("a cached result started a container")

        with monkeypatch.context() as m:
            m.setattr(DockerRuntime, "run", no_container)
            m.setattr(DockerRuntime, "prepare", no_container)
            cached = _probe(tag, tmp_path)
        assert cached["cached"]["version"] and cached["mounts"] == fresh["mounts"]

        second_id = _build(docker_client, built_samples["03-pidfile"].tag, tag, "two")  # the same tag
        made.append(second_id)
        assert second_id != first_id
        rebuilt = _probe(tag, tmp_path)
        assert rebuilt["verified"] and "cached" not in rebuilt, "new content under the same tag is probed"
        assert len(list(tmp_path.glob("results/*/*.json"))) == 2
    finally:
        for image_id in made:
            docker_client.images.remove(image_id, force=True)
