"""Building local images (samples, the strace bundle): no pulls, every FROM must be local."""

from __future__ import annotations

import docker.errors

from ecs5probe.runtime.session import RuntimeFailure, Session, short


def build_image(session: Session, context: str, tag: str) -> None:
    """``docker build`` a local context."""
    try:
        session.client().images.build(
            path=context, tag=tag, rm=True, forcerm=True, pull=False, labels={"ecs5probe.sample": "1"}
        )
    except docker.errors.BuildError as e:
        tail = " ".join(str(x.get("stream") or x.get("error") or "").strip() for x in list(e.build_log)[-3:])
        raise RuntimeFailure(f"building {tag} failed: {short(e)} {tail}".strip()) from None
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"building {tag} failed: {short(e)}") from None


def image_exists(session: Session, tag: str) -> bool:
    try:
        session.client().api.inspect_image(tag)
        return True
    except docker.errors.ImageNotFound:
        return False
