"""Real-Docker fixtures: build the sample images once; remove every container the tests start."""

from __future__ import annotations

import os
import uuid

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk's image cannot be pulled here

import docker
import pytest

from ecs5probe.app import samples as sm
from ecs5probe.runtime.args import SESSION_LABEL
from ecs5probe.runtime.docker import DockerRuntime, build_image, image_exists

TEST_SESSION = f"pytest-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def docker_client():
    client = docker.from_env()
    yield client
    for c in client.containers.list(all=True, filters={"label": f"{SESSION_LABEL}={TEST_SESSION}"}):
        c.remove(force=True, v=True)
    for v in client.volumes.list(filters={"label": f"{SESSION_LABEL}={TEST_SESSION}"}):
        v.remove(force=True)


@pytest.fixture(scope="session")
def built_samples(docker_client) -> dict[str, sm.Sample]:
    samples = sm.load_samples()
    rt = DockerRuntime()
    try:
        sm.build_samples(samples, lambda ctx, tag: build_image(rt, ctx, tag), lambda tag: image_exists(rt, tag))
    finally:
        rt.close()
    return {s.name: s for s in samples}
