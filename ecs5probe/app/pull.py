"""Images from the registry: pull them as ``docker run`` would (``--pull missing|always|never``).

Credentials are the Docker client's own (``~/.docker/config.json`` or ``DOCKER_CONFIG``, credential
stores and helpers); for an ECR registry with none stored, a token from ``ecr:GetAuthorizationToken``
when boto3 and AWS credentials are available. Library code: no click, no rich, no docker."""

from __future__ import annotations

from collections.abc import Callable

from ecs5probe.core.ports import Runtime
from ecs5probe.errors import ImageNotFound

POLICIES = ("missing", "always", "never")


def ensure(
    runtime: Runtime, image: str, policy: str = "missing", progress: Callable[[str], None] | None = None
) -> None:
    """Make ``image`` local according to ``policy``; RegistryError or ImageNotFound when it cannot be."""
    if policy not in POLICIES:
        raise ValueError(f"pull policy {policy!r}: one of {', '.join(POLICIES)}")
    if policy != "always":
        try:
            runtime.inspect(image)
            return
        except ImageNotFound:
            if policy == "never":
                raise ImageNotFound(f"no such image: {image} (--pull never: build or pull it first)") from None
    runtime.pull(image, progress)
