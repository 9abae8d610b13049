"""A fake runtime that simulates apps writing files, so the probe loop is tested without Docker."""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field, replace
from typing import Any

from ecs5probe.core.paths import is_ancestor_or_self
from ecs5probe.core.ports import MountSpec, RunOutcome, RunSpec, WrittenDir
from ecs5probe.errors import ImageNotFound, RegistryError
from ecs5probe.model import HealthSpec, ImageConfig, PathInfo


class FakeFacts:
    def __init__(self, infos: dict[str, PathInfo]):
        self.infos = infos
        self.closed = False

    def stat(self, path: str) -> PathInfo:
        return self.infos.get(path, PathInfo(path, exists=False))

    def lstat(self, path: str) -> PathInfo:
        return self.stat(path)

    def prefetch(self, paths) -> None:
        pass

    def directories(self) -> list[PathInfo]:
        return [i for i in self.infos.values() if i.is_dir and not i.link_target]

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fs(
    *dirs: str, content: tuple[str, ...] = (), links: dict[str, str] | None = None, owners: dict[str, int] | None = None
) -> dict[str, PathInfo]:
    """A fake image tree: directories (and their ancestors), some with content, some symlinks."""
    out: dict[str, PathInfo] = {"/": PathInfo("/", True, True, has_content=True)}
    for d in dirs:
        p = d
        while p != "/":
            uid = (owners or {}).get(p, 0)
            out.setdefault(p, PathInfo(p, True, True, uid=uid, gid=uid, has_content=p in content))
            p = posixpath.dirname(p)
    for d in content:
        out[d] = PathInfo(d, True, True, has_content=True)
    for src, dst in (links or {}).items():
        out[src] = PathInfo(src, True, link_target=dst)
    for p, info in list(out.items()):  # what each directory holds directly, as the image ships it
        if info.is_dir:
            names = sorted(
                posixpath.basename(q) + ("/" if out[q].is_dir else "")
                for q in out
                if q != "/" and posixpath.dirname(q) == p
            )
            out[p] = replace(info, entries=tuple(names))
    return out


@dataclass
class FakeApp:
    """What the simulated image does when it runs.

    ``writes``: files it writes in order at start; ``fatal``: whether a failed write kills it;
    ``tolerated``: files whose failed write it ignores; ``on_stop``: files written at SIGTERM;
    ``hidden_from_diff``: writes docker diff cannot see (created then deleted);
    ``needs_content``: directories whose shipped content must stay visible.
    """

    writes: list[str] = field(default_factory=list)
    fatal: bool = True
    tolerated: list[str] = field(default_factory=list)
    on_stop: list[str] = field(default_factory=list)
    hidden_from_diff: list[str] = field(default_factory=list)
    needs_content: list[str] = field(default_factory=list)
    broken: bool = False
    silent: bool = False  # failed writes leave no log line
    needs_dirs: list[str] = field(default_factory=list)  # image dirs its writes go through: hidden = ENOENT
    writer_uid: int | None = None  # starts as root, then switches to this uid (and gid) before writing
    hidden_from_trace: list[str] = field(default_factory=list)  # writes by a process strace does not follow
    unnamed_in_trace: list[str] = field(default_factory=list)  # writes strace sees but cannot name (an address)
    log_format: str = "sh: can't create {path}: Read-only file system"
    traced_stop: int | None = None  # the stop code under the tracer, when it differs (a shell as PID 1)
    ablation_delay: float = 0.0  # seconds an ablation run takes (orders the runs of a wave)
    trace_delay: float = 0.0  # seconds a traced read-only run takes
    runs_programs: list[str] = field(default_factory=list)  # written at start, then loaded (deleted at stop)
    fills_mib: dict[str, int] = field(default_factory=dict)  # dir -> MiB it fills while running (gone at stop)
    on_smoke: list[str] = field(default_factory=list)  # written only when a smoke test sends a request


class FakeRuntime:
    def __init__(
        self, config: ImageConfig, infos: dict[str, PathInfo], app: FakeApp, uid: int = 0, strace: bool = False
    ):
        self.strace = strace
        self.config = config
        self.infos = infos
        self.app = app
        self.uid = uid
        self.specs: list[RunSpec] = []
        self.closed = False
        self.cancelled = False
        self.facts_obj: FakeFacts | None = None
        self.writers: dict[str, tuple[tuple[int, int], ...]] = {}  # dir -> owners of what the app wrote
        self.diffs: dict[str, list[tuple[str, str]]] = {}  # docker diff of each kept run
        self.registry: set[str] = set()  # what pull() finds; pulling makes the app's image that name
        self.pulled: list[str] = []

    def tracer(self) -> tuple[bool, str]:
        return (True, "strace (fake)") if self.strace else (False, "strace unavailable: fake runtime")

    def inspect(self, image: str) -> ImageConfig:
        if image != self.config.ref:
            raise ImageNotFound(f"no such image: {image}")
        return self.config

    def pull(self, image: str, progress=None) -> None:
        if image not in self.registry:
            raise RegistryError(f"cannot pull {image} from docker.io: no such image there")
        if progress is not None:
            progress("pulling: 1 layer(s), 1.0 of 1.0 MB")
        self.pulled.append(image)
        self.config = replace(self.config, ref=image)

    def facts(self, image: str, user: str) -> tuple[FakeFacts, int, int]:
        self.facts_obj = FakeFacts(self.infos)
        return self.facts_obj, self.uid, self.uid

    def _writable(self, spec: RunSpec, path: str) -> bool:
        mounts = [m for m in spec.mounts if is_ancestor_or_self(m.path, path)]
        if mounts:
            m = max(mounts, key=lambda m: len(m.path))
            return not m.read_only
        return not spec.read_only

    def _refused(self, spec: RunSpec, path: str) -> tuple[str, str] | None:
        """ENOENT where a mount hides a directory the write goes through; EACCES on a mount not owned
        by the writer."""
        for d in self.app.needs_dirs:
            if (
                is_ancestor_or_self(d, path)
                and not any(m.path == d for m in spec.mounts)
                and any(is_ancestor_or_self(m.path, d) and m.path != d and not m.copy_content for m in spec.mounts)
            ):
                return "ENOENT", "nonexistent directory"
        uid = self.app.writer_uid
        mounts = [m for m in spec.mounts if is_ancestor_or_self(m.path, path)]
        if uid is not None and mounts:
            m = max(mounts, key=lambda m: len(m.path))
            if m.kind == "tmpfs" and f"uid={uid}" not in m.options:
                return "EACCES", "Permission denied"
        return None

    @staticmethod
    def _mount_of(spec: RunSpec, path: str) -> MountSpec | None:
        mounts = [m for m in spec.mounts if is_ancestor_or_self(m.path, path)]
        return max(mounts, key=lambda m: len(m.path)) if mounts else None

    def _content_ok(self, spec: RunSpec) -> bool:
        for d in self.app.needs_content:
            for m in spec.mounts:
                if is_ancestor_or_self(m.path, d) and not m.copy_content:
                    return False
        return True

    def written(self, handle: str, dirs) -> dict[str, WrittenDir]:
        self.written_asked = [*getattr(self, "written_asked", []), *dirs]
        return {d: WrittenDir(1000, self.writers.get(d, ())) for d in dirs}

    def diff(self, handle: str, in_image=None) -> list[tuple[str, str]]:
        return self.diffs.get(handle, [])

    def discard(self, handle: str) -> None:
        self.discarded = [*getattr(self, "discarded", []), handle]

    def prepare(self, spec: RunSpec) -> str:
        self.prepared = [*getattr(self, "prepared", []), spec.purpose]
        return f"prepared-{len(self.prepared)}"

    def run(self, spec: RunSpec, prepared: str | None = None) -> RunOutcome:
        self.specs.append(spec)
        out = RunOutcome(duration=0.01)
        out.traced = bool(spec.trace and self.strace)
        logs: list[str] = []
        trace: list[str] = []
        if self.app.broken or not self._content_ok(spec):
            out.start_detail = "exited 1 before it was ready"
            out.exit_code = 1
            return out
        if self.app.writer_uid is not None and spec.trace_successes:
            trace.append(f"7 setresgid({self.app.writer_uid}, {self.app.writer_uid}, {self.app.writer_uid}) = 0")
            trace.append(f"7 setresuid({self.app.writer_uid}, {self.app.writer_uid}, {self.app.writer_uid}) = 0")
        for path in self.app.writes + self.app.tolerated:
            refused = self._refused(spec, path)
            if refused:
                errno, text = refused
                trace.append(f'7 openat(AT_FDCWD</>, "{path}", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 {errno} (x)')
                if not self.app.silent:
                    logs.append(f"sh: can't create {path}: {text}")
                out.trace = "\n".join(trace) if out.traced else ""
                out.logs = "\n".join(logs)
                out.start_detail, out.exit_code, out.exited_early = "exited 1 before it was ready", 1, True
                return out
            if self._writable(spec, path):
                if spec.trace_successes and path in self.app.unnamed_in_trace:
                    trace.append("7 openat(AT_FDCWD, 0x560b9cb385a0, O_RDWR|O_CREAT|O_EXCL, 0644) = 9")
                elif spec.trace_successes and path not in self.app.hidden_from_trace:
                    trace.append(f'7 openat(AT_FDCWD</>, "{path}", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3<{path}>')
                continue
            trace.append(
                f'7 openat(AT_FDCWD</>, "{path}", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)'
            )
            if not self.app.silent:
                logs.append(self.app.log_format.format(path=path))
            if self.app.fatal and path not in self.app.tolerated:
                out.trace = "\n".join(trace) if out.traced else ""
                out.logs = "\n".join(logs)
                out.start_detail, out.exit_code, out.exited_early = "exited 1 before it was ready", 1, True
                return out
        for path in self.app.runs_programs:  # loaded from a noexec tmpfs: the loader's mmap fails
            m = self._mount_of(spec, path)
            if m is not None and m.kind == "tmpfs" and "exec" not in m.options:
                out.logs = f"dlopen() = {path}: failed to map segment from shared object"
                out.start_detail, out.exit_code, out.exited_early = "exited 1 before it was ready", 1, True
                return out
        for d, mib in self.app.fills_mib.items():
            m = self._mount_of(spec, d)
            if m is not None and m.kind == "tmpfs" and m.size_mib < mib:
                out.logs = "Child failed on launch: Success"
                out.start_detail, out.exit_code, out.exited_early = "exited 1 before it was ready", 1, True
                return out
        out.started, out.start_detail, out.ready_after = True, "healthy", 0.1
        out.stop_exit_code, out.stop_seconds = 0, 0.2
        if out.traced and self.app.traced_stop is not None:
            out.stop_exit_code = self.app.traced_stop
        if spec.purpose.startswith("ablate") and self.app.ablation_delay:
            time.sleep(self.app.ablation_delay)
        if out.traced and spec.read_only and self.app.trace_delay:
            time.sleep(self.app.trace_delay)
        out.ran_seconds = 0.5
        for path in self.app.on_smoke if spec.smoke else []:
            if self._writable(spec, path):
                if spec.trace_successes:
                    trace.append(f'7 openat(AT_FDCWD</>, "{path}", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3<{path}>')
                continue
            trace.append(
                f'7 openat(AT_FDCWD</>, "{path}", O_WRONLY|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)'
            )
            logs.append(self.app.log_format.format(path=path))
            out.smoke_ok, out.smoke_detail = False, f"smoke test {spec.smoke[0]!r} exited 22: 'HTTP 500'"
        for path in self.app.on_stop:
            if not self._writable(spec, path):
                logs.append(self.app.log_format.format(path=path))
                out.stop_exit_code = 1
        out.logs = "\n".join(logs)
        out.trace = "\n".join(trace) if out.traced else ""
        if spec.observe:
            written = [
                p
                for p in self.app.writes
                + self.app.tolerated
                + self.app.on_stop
                + (self.app.on_smoke if spec.smoke else [])
                if p not in self.app.hidden_from_diff and not spec.read_only
            ]
            in_mount = [p for p in written if any(is_ancestor_or_self(m.path, p) for m in spec.mounts)]
            seen = [p for p in written if p not in in_mount]  # docker diff never sees writes into mounts
            out.volume_writes = [
                p for p in in_mount if any(is_ancestor_or_self(m.path, p) and m.copy_content for m in spec.mounts)
            ]
            entries = set()
            for p in seen:
                entries.add(("A", p))
                q = posixpath.dirname(p)
                while q != "/":
                    entries.add(("C", q))
                    q = posixpath.dirname(q)
            out.handle = f"observe-{len(self.specs)}"
            self.diffs[out.handle] = sorted(entries, key=lambda e: e[1])
        return out

    def cancel(self) -> None:
        self.cancelled = True

    def close(self) -> None:
        self.closed = True

    def reap(self, dead_only: bool = True) -> tuple[int, int]:
        return (0, 0)


def image(ref: str = "app:1", **kw) -> ImageConfig:
    kw.setdefault("cmd", ("/bin/app",))
    return ImageConfig(ref=ref, **kw)


HEALTH = HealthSpec(test=("CMD-SHELL", "true"))


#: The runtime factory the CLI tests hand to ``ecs5probe`` through click's context (set per test
#: with ``monkeypatch.setitem(RUNTIME, "factory", ...)``); None: the CLI's own Docker runtime.
RUNTIME: dict[str, Any] = {"factory": None}


def cli_invoke(args: list[str], **kwargs: Any) -> Any:
    """``ecs5probe ARGS`` through click's test runner, with the test's runtime factory in the context."""
    from click.testing import CliRunner

    from ecs5probe import cli

    env = cli.Env(RUNTIME["factory"]) if RUNTIME["factory"] is not None else cli.Env()
    return CliRunner().invoke(cli.main, args, obj=env, **kwargs)


def scan_verdicts(target: str, control: str, exit_code: int) -> list[tuple[str, str]]:
    """``ecs5probe scan TARGET --control CONTROL`` as JSON, its exit code checked: (name, verdict) rows."""
    import json

    r = cli_invoke(["scan", target, "--format", "json", "--control", control])
    assert r.exit_code == exit_code, r.output
    return [(x["name"], x["verdict"]) for x in json.loads(r.stdout)]
