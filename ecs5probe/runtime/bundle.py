"""The strace bundle: the host's strace with its libraries and loader, to run inside any image.

No libc is needed in the image (scratch and distroless work): the bundle's own loader runs strace.
The bundle goes into a helper image that declares ``VOLUME /.ecs5probe``; runs reach it with
``--volumes-from``, so it works where the daemon cannot see this machine's files (remote DOCKER_HOST).
"""

from __future__ import annotations

import hashlib
import platform
import re
import shutil
import subprocess
from pathlib import Path

MOUNT = "/.ecs5probe"
OUT_DIR = f"{MOUNT}/out"
LOADER = f"{MOUNT}/ld.so"
#: This machine's static busybox, when it has one: it keeps the image-facts container running (reads of a
#: running container's files cost 1.6 ms, of a created one 7.3 ms: the daemon mounts its root each time).
SLEEPER = f"{MOUNT}/busybox"
DOCKERFILE = f"""FROM scratch
COPY bundle {MOUNT}
VOLUME {MOUNT}
LABEL ecs5probe.tracer="strace"
"""


class BundleUnavailable(Exception):
    """No usable strace on this machine (the message says how to get one)."""


def parse_ldd(text: str) -> tuple[list[str], str | None]:
    """Shared libraries and the loader from ``ldd`` output."""
    libs, loader = [], None
    for line in text.splitlines():
        line = line.strip()
        m = re.match(r"^\S+ => (/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            libs.append(m.group(1))
            continue
        m = re.match(r"^(/\S*ld-linux\S*) \(0x[0-9a-f]+\)$", line)
        if m:
            loader = m.group(1)
    return libs, loader


def host_strace() -> Path:
    found = shutil.which("strace")
    if not found:
        raise BundleUnavailable("strace is not installed on this machine (apt-get install strace)")
    return Path(found).resolve()


def version(strace: Path) -> str:
    out = subprocess.run([str(strace), "-V"], capture_output=True, text=True, check=False).stdout
    m = re.search(r"version (\S+)", out)
    return m.group(1) if m else "unknown"


def arch() -> str:
    """This machine's architecture in Docker's words."""
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower(), platform.machine()
    )


def prepare(context: Path) -> str:
    """Fill ``context`` with the bundle and its Dockerfile; returns the image tag (keyed by content)."""
    strace = host_strace()
    ldd = subprocess.run(["ldd", str(strace)], capture_output=True, text=True, check=False)
    libs, loader = parse_ldd(ldd.stdout)
    if ldd.returncode != 0 or loader is None:
        raise BundleUnavailable(f"cannot bundle {strace}: ldd found no loader ({ldd.stderr.strip()[:100]})")
    bundle = context / "bundle"
    (bundle / "lib").mkdir(parents=True)
    (bundle / "out").mkdir()
    (bundle / "out").chmod(0o1777)  # any USER may write its trace here
    digest = hashlib.sha256()
    files = [(str(strace), bundle / "strace"), (loader, bundle / "ld.so")]
    files += [(lib, bundle / "lib" / Path(lib).name) for lib in libs]
    busybox = sleeper()
    if busybox is not None:
        files.append((str(busybox), bundle / "busybox"))
    for src, dst in files:
        shutil.copy2(Path(src).resolve(), dst)
        digest.update(Path(dst).read_bytes())
    (context / "Dockerfile").write_text(DOCKERFILE)
    return f"ecs5probe/strace-bundle:{version(strace)}-{arch()}-{digest.hexdigest()[:12]}"


def sleeper() -> Path | None:
    """The static busybox the bundle carries, if this machine has one."""
    from ecs5probe.runtime.netprobe import NetcheckUnavailable, static_busybox

    try:
        return static_busybox()
    except NetcheckUnavailable:
        return None


def traced_argv(
    argv: list[str], out_file: str, include_success: bool, syscalls: str = "", seccomp: bool = False
) -> list[str]:
    """The entrypoint that runs ``argv`` under the bundle's strace, trace to ``out_file``.

    ``syscalls`` is strace's ``-e trace=`` list, chosen by the core (``?name`` entries may be unknown
    to this strace); empty: strace's %file class. ``seccomp``: the app stops only at those system
    calls, not at every one (``--seccomp-bpf``, see :func:`seccomp_bpf`).
    """
    flags = ["--seccomp-bpf"] if seccomp else []
    flags += ["-f", "-qq", "-s", "4096", "-y", "-e", "signal=none", "-e", f"trace={syscalls or '%file'}"]
    if not include_success:
        flags += ["-e", "status=failed"]
    flags += ["-o", out_file]
    return [LOADER, "--library-path", f"{MOUNT}/lib", f"{MOUNT}/strace", *flags, "--", *argv]


def seccomp_bpf(tag: str) -> bool:
    """Whether the bundle (its tag names strace's version) has ``--seccomp-bpf``: strace 5.3 and later.

    With it the kernel stops the app only at the traced system calls (a seccomp filter strace installs
    before it runs the app; it needs no_new_privs, which every probe run has: ``no-new-privileges``),
    instead of at the entry and exit of every one. Where the filter cannot be installed strace says so
    and stops at every call, as without the option."""
    m = re.match(r"(\d+)\.(\d+)", tag_version(tag))
    return m is not None and (int(m[1]), int(m[2])) >= (5, 3)


def tag_version(tag: str) -> str:
    """strace's version from the bundle's tag (``...:<version>-<arch>-<digest>``, see :func:`prepare`)."""
    return tag.rpartition(":")[2].split("-")[0]


def effective_argv(
    entrypoint: tuple[str, ...],
    cmd: tuple[str, ...],
    ep_override: tuple[str, ...] | None,
    cmd_override: tuple[str, ...] | None,
) -> list[str]:
    """What Docker would execute: an entrypoint override drops the image's CMD (as ECS's entryPoint)."""
    if ep_override is not None:
        return [*ep_override, *(cmd_override or ())]
    return [*entrypoint, *(cmd_override if cmd_override is not None else cmd)]
