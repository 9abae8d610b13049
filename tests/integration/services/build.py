"""Build the test services: services.c compiled static (gcc), each Dockerfile FROM scratch beside it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
NAMES = ("upload", "reporter", "hupd")


def tag(name: str) -> str:
    digest = subprocess.run(
        ["sha256sum", str(HERE / "services.c"), str(HERE / name / "Dockerfile")], capture_output=True, text=True
    ).stdout
    import hashlib

    return f"ecs5probe-test/{name}:{hashlib.sha256(digest.encode()).hexdigest()[:12]}"


def build(name: str, build_image: Callable[[str, str], None], exists: Callable[[str], bool]) -> str:
    """The image of service ``name`` (built when missing); needs gcc with a static libc."""
    t = tag(name)
    if exists(t):
        return t
    if shutil.which("gcc") is None:
        raise RuntimeError("gcc is needed to build the test services")
    with tempfile.TemporaryDirectory(prefix="ecs5probe-service-") as ctx:
        subprocess.run(["gcc", "-static", "-O2", "-o", f"{ctx}/services", str(HERE / "services.c")], check=True)
        shutil.copy(HERE / name / "Dockerfile", f"{ctx}/Dockerfile")
        (Path(ctx) / "empty").mkdir()
        build_image(ctx, t)
    return t


def built(*names: str) -> dict[str, str]:
    """Each named service's image, built when missing, with a Docker runtime of its own."""
    from ecs5probe.runtime.docker import DockerRuntime, build_image, image_exists

    rt = DockerRuntime()
    try:
        return {n: build(n, lambda ctx, t: build_image(rt, ctx, t), lambda t: image_exists(rt, t)) for n in names}
    finally:
        rt.close()
