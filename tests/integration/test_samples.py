"""Every sample probed end to end equals its expected.json, verifies, and holds up independently."""

from __future__ import annotations

import os

import pytest

from ecs5probe import ProbeOptions, probe
from ecs5probe.app.samples import load_samples
from ecs5probe.platforms.ecs.fragment import fragment
from tests.integration.conftest import TEST_SESSION
from tests.integration.independent import apply

pytestmark = pytest.mark.integration

# Both tests of a sample on one xdist worker (`--dist loadgroup`, pyproject.toml): the module's
# results are per process, so split across workers a sample would be probed twice.
SAMPLES = [pytest.param(s.name, marks=pytest.mark.xdist_group(f"sample-{s.name}")) for s in load_samples()]


def _labelled(client) -> set[str]:
    """This test process's probe containers and volumes (other test processes may be probing beside it)."""
    flt = {"label": ["ecs5probe.session", f"ecs5probe.pid={os.getpid()}"]}
    return {c.id for c in client.containers.list(all=True, filters=flt)} | {
        v.name for v in client.volumes.list(filters=flt)
    }


@pytest.fixture(scope="module")
def results(built_samples, docker_client):
    cache = {}

    def get(name):
        if name not in cache:
            s = built_samples[name]
            before = _labelled(docker_client)
            result = probe(s.tag, ProbeOptions(**s.options))
            cache[name] = (s, result, _labelled(docker_client) - before)
        return cache[name]

    return get


@pytest.mark.parametrize("name", SAMPLES)
def test_probe_matches_expected(name, results, docker_client) -> None:
    sample, result, leaked = results(name)
    exp = sample.expected
    assert result.verified, result.reason
    assert result.exit_code == 0
    required = sorted(m.container_path for m in result.mounts if m.required)
    optional = sorted(m.container_path for m in result.mounts if not m.required)
    assert required == sorted(exp["required"])
    assert optional == sorted(exp["optional"])
    assert sorted(m.container_path for m in result.mounts if m.degraded) == sorted(exp.get("degraded", []))
    for m in result.mounts:
        assert m.container_path not in exp["mustNotMount"]
        assert m.evidence, f"{m.container_path} has no evidence"
        # what a mount hides is named, and only what the sample expects it to hide
        assert sorted(m.hides_image_content) == sorted(exp.get("hides", {}).get(m.container_path, []))
    for path, kind in exp.get("kinds", {}).items():
        assert next(m.kind for m in result.mounts if m.container_path == path) == kind
    for path, opts in exp.get("mountOptions", {}).items():
        got = next(m.mount_options for m in result.mounts if m.container_path == path)
        assert set(opts) <= set(got)
    # nothing the probe made is left on the daemon
    assert leaked == set()


@pytest.mark.parametrize("name", SAMPLES)
def test_recommendation_holds_independently(name, results, docker_client) -> None:
    """Plain read-only container + the pasted ECS fragment: ready and stops like a writable run;
    with one required mount removed it fails."""
    sample, result, _ = results(name)
    job = bool(sample.options.get("job"))
    frag = fragment(result.mounts, "EC2")
    writable = apply(docker_client, sample.tag, None, TEST_SESSION, job=job, read_only=False)
    assert writable.ready, writable.detail
    ok = apply(docker_client, sample.tag, frag, TEST_SESSION, job=job)
    assert ok.ready, ok.detail
    assert ok.stop_exit == writable.stop_exit
    image_volumes = set(docker_client.images.get(sample.tag).attrs["Config"].get("Volumes") or {})
    for m in result.mounts:
        if m.container_path in image_volumes:
            # Docker (and ECS on EC2) give an image VOLUME anonymous storage when the task does not,
            # so dropping it cannot fail here; the probe still asks to declare it, and says why.
            assert m.kind == "bind" and "VOLUME" in m.reason
    # A degraded mount: the app stays up without it, but what it writes there is lost.
    for path, check in sample.expected.get("writeCheck", {}).items():
        kept = apply(docker_client, sample.tag, frag, TEST_SESSION, job=job, check=check)
        assert kept.ready and kept.check_ok, f"the write under {path} did not land with the mount"
        without = fragment([m for m in result.mounts if m.container_path != path], "EC2")
        lost = apply(docker_client, sample.tag, without, TEST_SESSION, job=job, check=check)
        assert lost.ready and lost.check_ok is False, f"without {path} the write still lands: not degraded"
    required = [m for m in result.mounts if m.required and m.container_path not in image_volumes and not m.degraded]
    if not required:
        return
    dropped = required[0]
    reduced = fragment([m for m in result.mounts if m is not dropped], "EC2")
    bad = apply(docker_client, sample.tag, reduced, TEST_SESSION, job=job)
    assert not bad.ready or bad.stop_exit != writable.stop_exit, f"still works without {dropped.container_path}"
