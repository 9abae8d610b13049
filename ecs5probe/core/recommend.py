"""Writes + image facts -> candidate directories and the mount kind ECS should give each."""

from __future__ import annotations

import math
import posixpath
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ecs5probe.core.paths import FORBIDDEN, collapse, is_ancestor_or_self, needs_nothing, normalise, resolve
from ecs5probe.core.ports import ImageFacts
from ecs5probe.model import Evidence, ImageConfig, Mount, MountKind, PathInfo, Write

MIB = 1024 * 1024
DEFAULT_TMPFS_MIB = 64
#: Above this many observed bytes a tmpfs (task memory) is a poor fit: use task storage instead.
LARGE_WRITE_BYTES = 512 * MIB
SYSTEM_BIN_DIRS = frozenset({"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"})


@dataclass(frozen=True)
class ImageContext:
    """Everything the recommendation needs to know about the image under test."""

    config: ImageConfig
    facts: ImageFacts
    uid: int = 0
    gid: int = 0

    @property
    def non_root(self) -> bool:
        return self.uid != 0

    @property
    def tmpdir(self) -> str:
        return self.config.env_dict.get("TMPDIR", "/tmp") or "/tmp"

    def readlink(self, path: str) -> str | None:
        return self.facts.lstat(path).link_target

    def exists(self, path: str) -> bool:
        return path == "/" or self.facts.lstat(path).exists

    def resolve(self, path: str) -> str:
        return resolve(path, self.readlink)

    def image_volume(self, path: str) -> bool:
        """Whether the image declares VOLUME at ``path`` (links resolved)."""
        return path in {self.resolve(v) for v in self.config.volumes}

    def warm(self, paths: Iterable[str]) -> None:
        """Read the image's entry for every directory on the way to ``paths`` side by side, before
        they are resolved one component at a time (PostgreSQL's writable run: 62 reads of a few
        milliseconds each, 0.19 s one after the other)."""
        todo: set[str] = set()
        for p in paths:
            parts = [c for c in p.split("/") if c]
            todo.update("/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
        if len(todo) < 2:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
            list(pool.map(self.facts.lstat, sorted(todo)))

    def protected(self) -> set[str]:
        """The app's code directories: never mount over them."""
        out: set[str] = set()
        wd = self.config.workdir
        if wd and wd != "/" and self.facts.stat(self.resolve(wd)).has_content:
            out.add(self.resolve(wd))
        exe = self.config.entrypoint[0] if self.config.entrypoint else (self.config.cmd[0] if self.config.cmd else "")
        if exe.startswith("/"):
            d = posixpath.dirname(self.resolve(exe))
            if d not in SYSTEM_BIN_DIRS and d != "/":
                out.add(d)
        return out


@dataclass
class Candidate:
    """A directory to make writable, with the writes it covers.

    ``nested``: mounted inside another candidate to recreate a directory that mount hides;
    ``kind``: a mount kind chosen by evidence (a copying volume where hidden entries are needed);
    ``owner``: the (uid, gid) that writes there, when the evidence says so;
    ``programs``: programs the app wrote there and, a run having failed without, needs to run from a
    tmpfs (which Docker and ECS mount ``noexec``): the mount gets ``exec``;
    ``room_mib``: a run failed with the tmpfs sized by what the app left after its stop: this size.
    """

    path: str
    writes: list[Write] = field(default_factory=list)
    nested: bool = False
    kind: MountKind | None = None
    owner: tuple[int, int] | None = None
    programs: tuple[str, ...] = ()
    room_mib: int | None = None  # a tmpfs size the evidence asked for (see :func:`room_mib`)

    @property
    def written_writable(self) -> bool:
        """Some write here succeeded with a writable root: without the mount, the app loses it."""
        return any(w.errno is None for w in self.writes)


@dataclass(frozen=True)
class Unmountable:
    """A write no allowed mount can cover."""

    write: Write
    reason: str


BENIGN = (
    (
        "/__pycache__/",
        "Python's bytecode cache: set PYTHONDONTWRITEBYTECODE=1 in the task's environment instead of a mount",
    ),
)


def split_benign(writes: Iterable[Write]) -> tuple[list[tuple[Write, str]], list[Write]]:
    """Writes that are known to be harmless to refuse (with the alternative), and the rest."""
    benign, rest = [], []
    for w in writes:
        why = next((alt for marker, alt in BENIGN if w.path and (marker in w.path + "/")), None)
        if why:
            benign.append((w, why))
        else:
            rest.append(w)
    return benign, rest


def written_dir(write: Write, ctx: ImageContext) -> str | None:
    """The directory whose entries the write changes, symlinks resolved."""
    if write.path is None:
        return None
    path = ctx.resolve(normalise(write.path))
    info = ctx.facts.lstat(path)
    if info.exists and info.is_dir and (write.source != "diff" or write.op == "changed"):
        return path  # a write into an existing directory (or a file made and deleted there)
    if not info.exists and write.op in ("mkdir", "mkdirat"):
        return path  # the app's own new directory: a mount there (Docker creates it) hides nothing
    return posixpath.dirname(path) or "/"


def choose_dir(target: str, ctx: ImageContext, protected: set[str]) -> tuple[str | None, str]:
    """The narrowest allowed directory to mount for writes in ``target``, or None with the reason."""
    chain = [target, *_ancestors(target)]
    existing = next(p for p in chain if ctx.exists(p))
    missing_child = None
    if existing != target:
        below = [p for p in chain if p != existing and is_ancestor_or_self(existing, p)]
        missing_child = below[-1]  # the first component the image lacks
    blocked = _blocked(existing, protected)
    if missing_child is not None and (blocked or ctx.facts.stat(existing).ships_anything):
        if _blocked(missing_child, protected):
            return None, f"{missing_child} is a broad or code directory"
        return missing_child, f"{existing} is {'protected' if blocked else 'not empty'}: mount the new {missing_child}"
    if blocked:
        what = "the app's code directory" if existing in protected else "a broad system directory"
        return None, f"the write lands in {existing}, {what}; no mount there is safe"
    return existing, ""


def _ancestors(path: str) -> list[str]:
    out = []
    while path != "/":
        path = posixpath.dirname(path)
        out.append(path)
    return out


def _blocked(path: str, protected: set[str]) -> bool:
    return path in FORBIDDEN or path in protected


def candidates(writes: Iterable[Write], ctx: ImageContext) -> tuple[list[Candidate], list[Unmountable]]:
    """Group writes under the fewest, narrowest allowed directories."""
    protected = ctx.protected()
    by_dir: dict[str, list[Write]] = {}
    bad: list[Unmountable] = []
    for w in writes:
        target = written_dir(w, ctx)
        if target is None or needs_nothing(target) or (w.path and needs_nothing(ctx.resolve(w.path))):
            continue
        chosen, reason = choose_dir(target, ctx, protected)
        if chosen is None:
            bad.append(Unmountable(w, reason))
            continue
        by_dir.setdefault(chosen, []).append(w)
    kept = collapse(by_dir)
    out = []
    for k in kept:
        covered = [w for d, ws in by_dir.items() if is_ancestor_or_self(k, d) for w in ws]
        out.append(Candidate(k, covered))
    return out, bad


def size_hint_mib(observed_bytes: int) -> int:
    """A tmpfs size: four times what the app wrote, at least 64 MiB, rounded up to 64 MiB."""
    want = max(DEFAULT_TMPFS_MIB, math.ceil(observed_bytes * 4 / MIB))
    return int(math.ceil(want / 64) * 64)


def room_mib(memory_mib: int) -> int:
    """The tmpfs size to try when one sized by what the app left may be too small (Debian's varnish
    deletes its 80 MiB shared-memory log at the stop): 1 GiB, at most half the container's memory."""
    return max(DEFAULT_TMPFS_MIB, min(1024, memory_mib // 2) // 64 * 64)


def hidden_dir(path: str, under: Sequence[Candidate], ctx: ImageContext) -> tuple[Candidate, str] | None:
    """For a write that failed with ENOENT/ENOTDIR: the image directory a mount hides on its way.

    The nearest ancestor of ``path`` strictly below a candidate that the image has as a directory:
    the app needs it, and the mount hid it (Debian's ``/run/lock`` under a tmpfs on ``/run``).
    """
    p = ctx.resolve(normalise(path))
    holders = [c for c in under if is_ancestor_or_self(c.path, p) and c.path != p]
    if not holders:
        return None
    holder = max(holders, key=lambda c: len(c.path))
    d = posixpath.dirname(p)
    while d != holder.path and is_ancestor_or_self(holder.path, d):
        info = ctx.facts.lstat(d)
        if info.exists and info.is_dir:
            return holder, d
        d = posixpath.dirname(d)
    return None


def choose_owner(
    cand: Candidate, ctx: ImageContext, info: PathInfo, writers: Sequence[tuple[int, int]] = ()
) -> tuple[tuple[int, int], str]:
    """Who must be able to write the mount: evidence first, then the image's own owner, then USER."""
    if cand.owner is not None:
        return cand.owner, f"uid/gid {cand.owner[0]}:{cand.owner[1]}: the process that writes there (EACCES otherwise)"
    others = [w for w in writers if w[0] != 0]
    if others:
        return others[0], f"uid/gid {others[0][0]}:{others[0][1]}: the owner of what the app wrote there"
    if info.exists and (info.uid or info.gid):
        return (info.uid, info.gid), f"uid/gid {info.uid}:{info.gid}: as the image ships the directory"
    if ctx.non_root:
        return (ctx.uid, ctx.gid), f"uid/gid so that user {ctx.uid} may write (ECS mounts are root-owned)"
    return (0, 0), ""


def copies_content(cand: Candidate, ctx: ImageContext) -> bool:
    """Whether the mount for ``cand`` will carry the image's content (an image VOLUME, or a copying
    volume where the image ships files): its size is then only for the report, never for the run."""
    info = ctx.facts.stat(cand.path)
    return ctx.image_volume(cand.path) or cand.kind == "volume" or (info.exists and info.has_content)


def _tmpfs_options(
    cand: Candidate,
    ctx: ImageContext,
    info: PathInfo,
    writers: Sequence[tuple[int, int]],
    options: list[str],
    why: list[str],
) -> None:
    """A tmpfs's options (owner, mode, exec) and why, added to ``options`` and ``why``."""
    owner, owner_why = choose_owner(cand, ctx, info, writers)
    if owner != (0, 0):
        options += [f"uid={owner[0]}", f"gid={owner[1]}"]
        why.append(owner_why)
        if not info.exists:
            options.append("mode=0755")
    if cand.nested and info.exists and info.is_dir:
        # Its mount point is made inside the outer mount, not taken from the image: without mode=
        # the tmpfs is 1777, and sshd refuses a world-writable /run/sshd.
        options.append(f"mode={info.mode & 0o7777:04o}")
        why.append(f"mode {info.mode & 0o7777:04o} as the image ships the directory")
    if cand.room_mib:
        why.append(f"{cand.room_mib} MiB: a run failed with less (the app fills more while it runs)")
    if cand.programs:
        options.append("exec")
        shown = ", ".join(p.rsplit("/", 1)[-1] for p in cand.programs[:3])
        why.append(f"exec: the app runs what it writes here ({shown}); a tmpfs is noexec unless told")


def make_mount(
    cand: Candidate,
    ctx: ImageContext,
    observed_bytes: int = 0,
    required: bool = True,
    writers: Sequence[tuple[int, int]] = (),
) -> Mount:
    """Choose the kind and options ECS needs for one directory."""
    info = ctx.facts.stat(cand.path)
    kind: MountKind
    options: list[str] = []
    why: list[str] = []
    if ctx.image_volume(cand.path):
        kind = "bind"
        why.append("the image declares VOLUME here, so an ECS bind mount starts with the image's content")
    elif cand.kind == "volume" or (info.exists and info.has_content):
        kind = "volume"
        why.append(
            "the image ships files here: a Docker volume copies them in (EC2 dockerVolumeConfiguration; "
            "on Fargate declare VOLUME for this path in the image)"
        )
    elif observed_bytes > LARGE_WRITE_BYTES:
        kind = "bind"
        why.append(f"{observed_bytes // MIB} MiB written: task storage rather than memory")
    else:
        kind = "tmpfs"
        why.append("a tmpfs: empty, in memory")
        _tmpfs_options(cand, ctx, info, writers, options, why)
    if cand.nested:
        why.append("inside another mount: recreates a directory the image ships, which that mount hides")
    if kind == "bind" and ctx.non_root and not (info.exists and info.uid == ctx.uid):
        why.append("WARNING: an ECS bind mount is root-owned 0755; this non-root user may get EACCES")
    hides = info.entries if kind == "tmpfs" or (kind == "bind" and "VOLUME" not in why[0]) else ()
    if hides:
        why.append(f"hides what the image ships there ({', '.join(hides[:8])}); verified without it")
    evidence = tuple(dict.fromkeys(Evidence(w.source, w.path, w.line or f"{w.op} {w.path}") for w in cand.writes))[:20]
    return Mount(
        container_path=cand.path,
        kind=kind,
        mount_options=tuple(options),
        size_mib=cand.room_mib or size_hint_mib(observed_bytes),
        hides_image_content=tuple(hides),
        required=required,
        reason="; ".join(why),
        evidence=evidence,
    )
