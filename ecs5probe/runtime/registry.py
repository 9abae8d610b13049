"""Pulling from a registry with the Docker client's credentials (and an ECR token when none is stored),
with progress, and each failure told in one line that names the registry and the cause."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import docker.errors
from docker import auth
from docker.utils import parse_repository_tag

from ecs5probe.errors import RegistryError

ECR_HOST = re.compile(r"^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_DENIED = ("unauthorized", "denied", "authentication required", "no basic auth credentials", "forbidden")
_UNKNOWN = ("not found", "manifest unknown", "repository does not exist", "name unknown", "no such image")
_DOWN = ("connection refused", "no such host", "i/o timeout", "timeout", "unreachable", "eof", "tls", "http response")


def registry_of(image: str) -> str:
    return str(auth.resolve_repository_name(parse_repository_tag(image)[0])[0])


def cause(message: str) -> str:
    """What a pull error means, in a few words."""
    low = message.lower()
    if any(w in low for w in _DENIED):
        return "access denied (log in with `docker login`, or check the credentials)"
    if any(w in low for w in _UNKNOWN):
        return "no such image there"
    if any(w in low for w in _DOWN):
        return "registry unreachable"
    return "pull failed"


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


class Progress:
    """Layers and bytes of a pull, told at most once a second."""

    def __init__(self, tell: Callable[[str], None] | None):
        self.tell, self.last = tell, 0.0
        self.layers: dict[str, tuple[int, int]] = {}

    def update(self, event: dict[str, Any]) -> None:
        layer, detail = event.get("id"), event.get("progressDetail") or {}
        if layer and detail.get("total"):
            self.layers[layer] = (int(detail.get("current", 0)), int(detail["total"]))
        elif layer and event.get("status") in ("Pull complete", "Already exists") and layer in self.layers:
            total = self.layers[layer][1]
            self.layers[layer] = (total, total)
        now = time.monotonic()
        if self.tell is not None and self.layers and now - self.last >= 1.0:
            self.last = now
            done = sum(c for c, _ in self.layers.values())
            total = sum(t for _, t in self.layers.values())
            self.tell(f"pulling: {len(self.layers)} layer(s), {done / 1e6:.1f} of {total / 1e6:.1f} MB")


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
