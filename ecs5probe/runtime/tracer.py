"""The strace tracer: the bundle image (built once per machine), its helper container, a ptrace check."""

from __future__ import annotations

import tempfile
from pathlib import Path

import docker.errors

from ecs5probe.runtime import bundle, selftests
from ecs5probe.runtime.images import build_image, image_exists
from ecs5probe.runtime.session import RuntimeFailure, Session


def set_up(session: Session) -> tuple[bool, str, str | None, bool]:
    """(works, how or why not in one line, the helper container to --volumes-from, whether strace has
    ``--seccomp-bpf``)."""
    client = session.client()
    info = client.info()
    daemon_arch = info.get("Architecture", "")
    if daemon_arch != bundle.arch():
        return False, f"strace unavailable: the daemon runs {daemon_arch}, this machine {bundle.arch()}", None, False
    try:
        with tempfile.TemporaryDirectory(prefix="ecs5probe-strace-") as ctx:
            tag = bundle.prepare(Path(ctx))
            if not image_exists(session, tag):
                build_image(session, ctx, tag)
    except (bundle.BundleUnavailable, RuntimeFailure) as e:
        return False, f"strace unavailable: {e}", None, False
    helper = client.api.create_container(tag, entrypoint=["/.ecs5probe-never-started"], labels=session.labels)["Id"]
    session.track(container=helper)
    key = "|".join(
        [str(info.get("ID")), str(info.get("KernelVersion")), ",".join(info.get("SecurityOptions") or []), tag]
    )
    seccomp = bundle.seccomp_bpf(tag)
    if key in selftests.passed():
        return True, _how(tag), helper, seccomp
    # ptrace may be refused (a strict seccomp profile, gVisor, a rootless daemon): try once per daemon,
    # kernel, security options and bundle (a pass is remembered in the user's cache directory).
    probe_argv = bundle.traced_argv([bundle.LOADER, "--version"], "/dev/null", False, seccomp=seccomp)
    try:
        client.containers.run(
            tag,
            entrypoint=probe_argv,
            command=[],
            volumes_from=[helper],
            network_mode="none",
            labels=session.labels,
            remove=True,
            stderr=True,
        )
    except docker.errors.ContainerError as e:
        text = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        last = text[-1][:160] if text else f"exit {e.exit_status}"
        if "ptrace" in last.lower() or "not permitted" in last.lower():
            return (
                False,
                f"strace unavailable: ptrace is refused here ({last}); going on with logs and diff",
                helper,
                False,
            )
        return False, f"strace unavailable: its self-test failed ({last}); going on with logs and diff", helper, False
    selftests.remember(key)
    return True, _how(tag), helper, seccomp


def _how(tag: str) -> str:
    return f"strace {bundle.tag_version(tag)} from this machine's /usr/bin/strace, bundled in {tag}"
