"""Pulling from a registry with the Docker client's credentials (and an ECR token when none is stored),
with progress, and each failure told in one line that names the registry and the cause."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from typing import Any

import docker.errors
from docker import auth
from docker.utils import parse_repository_tag

from ecs5probe.errors import RegistryError
from ecs5probe.runtime.pullinfo import Progress, cause, registry_of

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")


def ecr_auth(registry: str) -> dict[str, str] | None:
    """An ECR token from ``ecr:GetAuthorizationToken``, when boto3 and AWS credentials are available."""
    m = ECR_HOST.match(registry)
    if not m:
        return None
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        return None
    try:
        client = boto3.client("ecr", region_name=m.group(2))
        data = client.get_authorization_token(registryIds=[m.group(1)])["authorizationData"][0]
    except (BotoCoreError, ClientError):
        return None
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    return {"username": user, "password": password}


def pull(api: Any, image: str, tell: Callable[[str], None] | None = None) -> None:
    """Pull ``image`` through the SDK's low-level client (its credential handling included)."""
    repo, tag = parse_repository_tag(image)
    registry = registry_of(image)
    auth_config = None
    if auth.resolve_authconfig(getattr(api, "_auth_configs", {}), registry) is None:
        auth_config = ecr_auth(registry)
    progress = Progress(tell)
    if tell is not None:
        tell(f"pulling {image} from {registry}")
    try:
        events: Iterable[dict[str, Any]] = api.pull(
            repo, tag=tag or "latest", stream=True, decode=True, auth_config=auth_config
        )
        for event in events:
            if "error" in event:
                message = str(event.get("error"))
                raise RegistryError(f"cannot pull {image} from {registry}: {cause(message)}: {message[:200]}")
            progress.update(event)
    except docker.errors.NotFound as e:
        raise RegistryError(f"cannot pull {image} from {registry}: {cause(str(e))}: {_explain(e)}") from None
    except docker.errors.APIError as e:
        raise RegistryError(f"cannot pull {image} from {registry}: {cause(str(e))}: {_explain(e)}") from None


def _explain(e: docker.errors.APIError) -> str:
    return str(e.explanation or e)[:200]
