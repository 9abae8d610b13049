"""Pull errors told in a few words; progress in layers and bytes."""

from __future__ import annotations

import pytest

from ecs5probe.runtime.pullinfo import Progress, cause, registry_of


@pytest.mark.parametrize(
    "message,expected",
    [
        ("Head https://r/v2/x/manifests/1: unauthorized: authentication required", "access denied"),
        ("pull access denied for x, repository does not exist or may require 'docker login'", "access denied"),
        ("manifest for r/x:1 not found: manifest unknown: manifest unknown", "no such image there"),
        (
            'Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
            "registry unreachable",
        ),
        ("lookup registry-1.docker.io: no such host", "registry unreachable"),
        ("something else entirely", "pull failed"),
    ],
)
def test_causes(message: str, expected: str) -> None:
    assert cause(message).startswith(expected)


def test_registry_of() -> None:
    assert registry_of("nginx:1.27") == "docker.io"
    assert registry_of("127.0.0.1:5000/team/app:2") == "127.0.0.1:5000"
    assert registry_of("123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + "a" * 64).endswith("amazonaws.com")


def test_progress_counts_layers_and_bytes() -> None:
    told: list[str] = []
    p = Progress(told.append)
    p.update({"id": "a", "status": "Downloading", "progressDetail": {"current": 1_000_000, "total": 2_000_000}})
    p.update({"id": "b", "status": "Downloading", "progressDetail": {"current": 500_000, "total": 1_000_000}})
    p.last = 0.0
    p.update({"id": "a", "status": "Pull complete"})
    assert told[-1] == "pulling: 2 layer(s), 2.5 of 3.0 MB"
