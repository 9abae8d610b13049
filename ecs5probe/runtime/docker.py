"""The Docker runtime: the only module that imports the Docker SDK. Labels everything; cleans up always."""

from __future__ import annotations

import base64
import collections
import contextlib
import io
import json
import os
import posixpath
import re
import socket
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
import urllib3

from ecs5probe.runtime.users import resolve_user
from ecs5probe.errors import Cancelled, DaemonUnavailable, Ecs5ProbeError, ImageNotFound, UsageError
from ecs5probe.model import HealthSpec, ImageConfig, PathInfo
from ecs5probe.runtime import bundle
from ecs5probe.runtime.args import HOST_LABEL, PID_LABEL, SESSION_LABEL, create_kwargs, without_mount_targets
from ecs5probe.core.ports import RunOutcome, RunSpec, WrittenDir

POLL = 0.1
#: Entries named per directory in a report of what a mount hides.
MAX_ENTRIES = 64
_DIR_BIT = 1 << 31
_LINK_BIT = 1 << 27


class RuntimeFailure(Ecs5ProbeError):
    """Docker refused an operation in the middle of a probe."""


def _seconds(ns: int | None, default: float) -> float:
    return ns / 1e9 if ns else default


def _is_content(member: tarfile.TarInfo) -> bool:
    """Data the app may need: not a directory, not an empty file (apps recreate those)."""
    return not (member.isdir() or (member.isfile() and member.size == 0))


class _Stream(io.RawIOBase):
    """A file object over docker-py's chunk generator, for streaming tar reads."""

    def __init__(self, chunks: Iterator[bytes]):
        self._it = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class DockerFacts:
    """Path facts read from a created (never started) container of the image."""

    def __init__(self, runtime: DockerRuntime, container_id: str):
        self._rt = runtime
        self._id = container_id
        self._cache: dict[str, PathInfo] = {}
        self._lcache: dict[str, PathInfo] = {}
        self._lock = threading.Lock()

    def lstat(self, path: str) -> PathInfo:
        with self._rt._daemon(f"reading {path} in the image"), self._lock:
            if path not in self._lcache:
                self._lcache[path] = self._lstat(path)
            return self._lcache[path]

    def stat(self, path: str) -> PathInfo:
        with self._rt._daemon(f"reading {path} in the image"), self._lock:
            if path not in self._cache:
                self._cache[path] = self._stat(path)
            return self._cache[path]

    def _lstat(self, path: str) -> PathInfo:
        try:
            st = _archive_head(self._rt.client().api, self._id, path)  # stat only, no content
        except docker.errors.NotFound:
            return PathInfo(path, exists=False)
        mode = int(st.get("mode", 0))
        if mode & _LINK_BIT:
            return PathInfo(path, exists=True, link_target=st.get("linkTarget") or None)
        return PathInfo(path, exists=True, is_dir=bool(mode & _DIR_BIT), mode=mode & 0o7777)

    def _stat(self, path: str) -> PathInfo:
        info = self._lcache.get(path) or self._lstat(path)  # called under the lock: no re-entry
        if not info.exists or info.link_target or not info.is_dir:
            return info
        found = self._scan(path, {path})
        return found.get(path) or PathInfo(path, exists=True, is_dir=True, mode=info.mode, has_content=True)

    def prefetch(self, paths: Sequence[str]) -> None:
        """Learn owner and content of sibling directories with one archive read of their parent.

        Each archive read costs a mount of the container's filesystem (~80 ms here, serialised by the
        daemon); siblings share one read, capped so that a large parent falls back to one read each.
        """
        with self._rt._daemon("reading the image's directories"):
            self._prefetch(paths)

    def _prefetch(self, paths: Sequence[str]) -> None:
        groups: dict[str, list[str]] = {}
        for p in paths:
            if p != "/" and p not in self._cache:
                groups.setdefault(posixpath.dirname(p), []).append(p)
        for parent, children in groups.items():
            if len(children) < 2:
                continue
            found = self._scan(parent, set(children))
            with self._lock:
                for child, info in found.items():
                    self._cache.setdefault(child, info)

    def _scan(self, parent: str, wanted: set[str], cap: int = 5000) -> dict[str, PathInfo]:
        """Owner, mode, entries and data of each wanted directory, from one archive read of ``parent``.

        Every entry counts as something a mount would hide (an empty directory such as Debian's
        ``/run/lock`` too); ``has_content`` is data: a non-empty file, a link or a device.
        """
        seen: dict[str, list[Any]] = {}  # path -> [uid, gid, mode, data, entries]
        complete = False
        with _tar_members(self._rt.client().api, self._id, parent) as members:
            for i, (full, m) in enumerate(members):
                if i > cap:
                    break
                if full in wanted and m.isdir():
                    seen[full] = [m.uid, m.gid, m.mode & 0o7777, False, []]
                    continue
                owner = posixpath.dirname(full)
                if owner in seen and len(seen[owner][4]) < MAX_ENTRIES:
                    seen[owner][4].append(posixpath.basename(full) + ("/" if m.isdir() else ""))
                while owner not in wanted and owner not in ("/", ""):
                    owner = posixpath.dirname(owner)
                if owner in seen and _is_content(m):
                    seen[owner][3] = True
            else:
                complete = True
        if not complete:
            return {}
        return {p: PathInfo(p, True, True, uid=v[0], gid=v[1], mode=v[2], has_content=v[3], entries=tuple(v[4]))
                for p, v in seen.items()}

    def read_file(self, path: str) -> str:
        return self._rt.read_file(self._id, path)

    def close(self) -> None:
        self._rt.remove_container(self._id)

    def __enter__(self) -> DockerFacts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DockerRuntime:
    """Runs probe containers on the local (or ``DOCKER_HOST``) daemon; never pulls, never privileged."""

    def __init__(self, session: str | None = None, client_factory: Callable[[], Any] | None = None):
        self.session = session or uuid.uuid4().hex[:12]
        self._factory = client_factory or (lambda: docker.from_env(timeout=120))
        self._local = threading.local()
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._containers: set[str] = set()
        self._volumes: set[str] = set()
        self._reaped = False
        self._tracer: tuple[bool, str] | None = None
        self._helper: str | None = None
        self._configs: dict[str, ImageConfig] = {}
        self._runs = 0
        self.lost = False  # the daemon went away during this session
        self.first_reaped = (0, 0)  # what the first contact removed of dead sessions
        self._kept: dict[str, tuple[list[str], set[str]]] = {}  # observe runs kept for written()

    # -- plumbing ------------------------------------------------------------------------------
    @property
    def labels(self) -> dict[str, str]:
        return {SESSION_LABEL: self.session, PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}

    def client(self) -> Any:
        c = getattr(self._local, "client", None)
        if c is None:
            try:
                c = self._factory()
                c.ping()
            except docker.errors.DockerException as e:
                raise DaemonUnavailable(f"cannot reach the Docker daemon ({_short(e)}); is it running?") from None
            except Exception as e:  # requests' connection errors and the like
                raise DaemonUnavailable(f"cannot reach the Docker daemon ({_short(e)}); is it running?") from None
            self._local.client = c
            if not self._reaped:
                self._reaped = True
                self.first_reaped = self.reap(dead_only=True)
        return c

    @contextlib.contextmanager
    def _daemon(self, during: str) -> Iterator[None]:
        """Turn a connection lost mid-call (daemon crash, restart) into one clear line, exit 2."""
        try:
            yield
        except _CONNECTION as e:
            self.lost = True
            raise DaemonUnavailable(f"lost the Docker daemon at {_daemon_url()} during {during} "
                                    f"({_short(e)[:120]})") from None

    def _check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("interrupted")

    def cancel(self) -> None:
        """Stop every run in flight at its next poll; used on Ctrl-C and SIGTERM."""
        self._cancel.set()

    def close(self) -> None:
        """Remove every container and volume this session made (by label, so none escapes).

        With the daemon gone there is nothing to remove now: the next session's first contact (or
        ``ecs5probe cleanup``) removes what this one left.
        """
        self._cancel.set()
        try:
            self._close()
        except (DaemonUnavailable, *_CONNECTION):
            self.lost = True

    def _close(self) -> None:
        client = self.client()
        mine = {"label": f"{SESSION_LABEL}={self.session}"}
        # Low-level lists: ids and labels only. (containers.list() inspects each one, and a container
        # removed meanwhile by a worker's finally would make it fail.)
        for c in client.api.containers(all=True, filters=mine):
            self.remove_container(c["Id"])
        for cid in list(self._containers):
            self.remove_container(cid)
        for v in client.api.volumes(filters=mine).get("Volumes") or []:
            self.remove_volume(v["Name"])
        for name in list(self._volumes):
            self.remove_volume(name)

    def remove_container(self, cid: str) -> None:
        try:
            self.client().api.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except (DaemonUnavailable, *_CONNECTION):  # the daemon is gone: its labels let a later run reap it
            self.lost = True
            return
        except docker.errors.APIError as e:
            if "already in progress" not in str(e):
                raise
        with self._lock:
            self._containers.discard(cid)

    def remove_volume(self, name: str) -> None:
        for _ in range(20):
            try:
                self.client().api.remove_volume(name, force=True)
                break
            except docker.errors.NotFound:
                break
            except (DaemonUnavailable, *_CONNECTION):
                self.lost = True
                return
            except docker.errors.APIError:  # still in use by a container being removed
                time.sleep(0.1)
        with self._lock:
            self._volumes.discard(name)

    def reap(self, dead_only: bool = True) -> tuple[int, int]:
        """Remove leftovers of earlier sessions (those whose process is gone, or all). Returns counts."""
        client = self.client()
        host = socket.gethostname()

        def dead(labels: dict[str, str]) -> bool:
            if labels.get(SESSION_LABEL) == self.session:
                return False
            if not dead_only:
                return True
            if labels.get(HOST_LABEL) != host:
                return False
            try:
                os.kill(int(labels.get(PID_LABEL, "0")), 0)
            except (ProcessLookupError, ValueError):
                return True
            except PermissionError:
                return False
            return int(labels.get(PID_LABEL, "0")) <= 0

        nc = nv = 0
        for c in client.api.containers(all=True, filters={"label": SESSION_LABEL}):
            if dead(c.get("Labels") or {}):
                self.remove_container(c["Id"])
                nc += 1
        for v in client.api.volumes(filters={"label": SESSION_LABEL}).get("Volumes") or []:
            if dead(v.get("Labels") or {}):
                self.remove_volume(v["Name"])
                nv += 1
        return nc, nv

    # -- image ---------------------------------------------------------------------------------
    def inspect(self, image: str) -> ImageConfig:
        with self._daemon(f"inspecting {image}"):
            return self._inspect(image)

    def _inspect(self, image: str) -> ImageConfig:
        if image in self._configs:
            return self._configs[image]
        try:
            attrs = self.client().api.inspect_image(image)
        except docker.errors.ImageNotFound:
            raise ImageNotFound(f"no such image: {image} (ecs5probe never pulls; build or pull it first)") from None
        except docker.errors.APIError as e:
            raise ImageNotFound(f"cannot inspect image {image}: {_short(e)}") from None
        cfg = attrs.get("Config") or {}
        hc = cfg.get("Healthcheck") or {}
        health = None
        if hc.get("Test"):
            health = HealthSpec(
                test=tuple(hc["Test"]),
                interval=_seconds(hc.get("Interval"), 30.0),
                timeout=_seconds(hc.get("Timeout"), 30.0),
                retries=int(hc.get("Retries") or 3),
                start_period=_seconds(hc.get("StartPeriod"), 0.0),
            )
        self._configs[image] = ImageConfig(
            ref=image,
            id=attrs.get("Id", ""),
            entrypoint=tuple(cfg.get("Entrypoint") or ()),
            cmd=tuple(cfg.get("Cmd") or ()),
            user=cfg.get("User") or "",
            workdir=cfg.get("WorkingDir") or "",
            env=tuple(cfg.get("Env") or ()),
            health=health,
            volumes=tuple(sorted((cfg.get("Volumes") or {}).keys())),
            stop_signal=cfg.get("StopSignal") or "SIGTERM",
        )
        return self._configs[image]

    # -- the strace tracer ---------------------------------------------------------------------------
    def tracer(self) -> tuple[bool, str]:
        """Build (once per machine) the strace bundle image, make its helper container, check ptrace."""
        with self._daemon("setting up strace"), self._lock:
            if self._tracer is None:
                self._tracer = self._setup_tracer()
            return self._tracer

    def _setup_tracer(self) -> tuple[bool, str]:
        client = self.client()
        daemon_arch = client.info().get("Architecture", "")
        if daemon_arch != bundle.arch():
            return False, f"strace unavailable: the daemon runs {daemon_arch}, this machine {bundle.arch()}"
        try:
            with tempfile.TemporaryDirectory(prefix="ecs5probe-strace-") as ctx:
                tag = bundle.prepare(Path(ctx))
                if not image_exists(self, tag):
                    build_image(self, ctx, tag)
        except bundle.BundleUnavailable as e:
            return False, f"strace unavailable: {e}"
        except RuntimeFailure as e:
            return False, f"strace unavailable: {e}"
        helper = client.api.create_container(tag, entrypoint=["/.ecs5probe-never-started"], labels=self.labels)
        self._helper = helper["Id"]
        self._containers.add(self._helper)
        # ptrace may be refused (a strict seccomp profile, gVisor, a rootless daemon): try once.
        probe_argv = bundle.traced_argv([bundle.LOADER, "--version"], "/dev/null", False)
        try:
            out = client.containers.run(tag, entrypoint=probe_argv, command=[], volumes_from=[self._helper],
                                        network_mode="none", labels=self.labels, remove=True, stderr=True)
            del out
        except docker.errors.ContainerError as e:
            text = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            last = text[-1][:160] if text else f"exit {e.exit_status}"
            if "ptrace" in last.lower() or "not permitted" in last.lower():
                return False, f"strace unavailable: ptrace is refused here ({last}); going on with logs and diff"
            return False, f"strace unavailable: its self-test failed ({last}); going on with logs and diff"
        return True, f"strace {tag.split(':')[1].split('-')[0]} from this machine's /usr/bin/strace, bundled in {tag}"

    def facts(self, image: str, user: str) -> tuple[DockerFacts, int, int]:
        with self._daemon(f"reading {image}"):
            return self._facts(image, user)

    def _facts(self, image: str, user: str) -> tuple[DockerFacts, int, int]:
        self._check()
        api = self.client().api
        c = api.create_container(image, entrypoint=["/.ecs5probe-never-started"], labels=self.labels,
                                 host_config=api.create_host_config(network_mode="none"))
        with self._lock:
            self._containers.add(c["Id"])
        facts = DockerFacts(self, c["Id"])
        name, _, group = user.partition(":")
        needs_files = not (name.isdigit() or name == "") or (group != "" and not group.isdigit())
        try:
            if needs_files or (name.isdigit() and not group):  # a numeric uid alone: its gid is in passwd
                uid, gid = resolve_user(user, facts.read_file("/etc/passwd"), facts.read_file("/etc/group"))
            else:
                uid, gid = resolve_user(user)
        except KeyError as e:
            facts.close()
            raise UsageError(f"{image}: {e.args[0]}") from None
        return facts, uid, gid

    # -- one run ---------------------------------------------------------------------------------
    def run(self, spec: RunSpec) -> RunOutcome:
        with self._daemon(f"{spec.purpose} of {spec.image}"):
            return self._run(spec)

    def _run(self, spec: RunSpec) -> RunOutcome:
        self._check()
        t0 = time.monotonic()
        client = self.client()
        out = RunOutcome()
        volumes: dict[str, str] = {}
        cid = None
        try:
            for m in spec.mounts:
                if m.kind != "tmpfs":
                    v = client.volumes.create(labels=self.labels)
                    with self._lock:
                        self._volumes.add(v.name)
                    volumes[m.path] = v.name
            kwargs = create_kwargs(spec, self.labels, volumes, os.cpu_count() or 1)
            trace_file = None
            if spec.trace and self.tracer()[0]:
                cfg = self.inspect(spec.image)
                argv = bundle.effective_argv(cfg.entrypoint, cfg.cmd, spec.entrypoint, spec.command)
                with self._lock:
                    self._runs += 1
                    trace_file = f"{bundle.OUT_DIR}/{self.session}-{self._runs}.trace"
                kwargs.update(
                    entrypoint=bundle.traced_argv(argv, trace_file, spec.trace_successes, spec.trace_syscalls), command=[],
                    # tini as PID 1 passes the stop signal to the whole group: the app, not only strace
                    init=True, volumes_from=[self._helper],
                    environment=[*kwargs.get("environment", []), "TINI_KILL_PROCESS_GROUP=1"],
                )
                out.traced = True
            try:
                container = client.containers.create(**kwargs)
            except docker.errors.ImageNotFound:
                raise ImageNotFound(f"no such image: {spec.image}") from None
            except docker.errors.APIError as e:
                raise RuntimeFailure(f"docker refused to create the container: {_short(e)}") from None
            cid = container.id
            with self._lock:
                self._containers.add(cid)
            watched = [m.path for m in spec.mounts if spec.observe and m.kind != "tmpfs" and m.copy_content]
            before = {p: self._listing(cid, p) for p in watched}
            try:
                container.start()
            except docker.errors.APIError as e:
                out.start_detail = f"container did not start: {_short(e)}"
            else:
                self._wait_started(container, spec, out)
                if out.started and spec.mode == "service":
                    self._exercise(container, spec, out)
                self._stop(container, spec, out)
            container.reload()
            out.oom_killed = bool(container.attrs["State"].get("OOMKilled"))
            out.logs = _bounded_logs(container.logs(stdout=True, stderr=True, stream=True))
            if trace_file:
                out.trace = self.read_file(cid, trace_file)
            if spec.observe:
                targets = [m.path for m in spec.mounts] + (TRACE_TARGETS if trace_file else [])
                out.diff = without_mount_targets(
                    [(_DIFF_KIND.get(d["Kind"], "C"), d["Path"]) for d in (container.diff() or [])], targets)
                for p in watched:
                    after = self._listing(cid, p)
                    out.volume_writes += [name for name, meta in after.items() if before[p].get(name) != meta]
                out.handle = cid  # kept, stopped, for written(); discard() removes it
        finally:
            out.duration = time.monotonic() - t0
            if cid and out.handle == cid:
                with self._lock:
                    self._kept[cid] = (list(volumes.values()), {p for _, p in out.diff} | set(out.volume_writes))
            else:
                if cid:
                    self.remove_container(cid)
                for name in volumes.values():
                    self.remove_volume(name)
        return out

    def written(self, handle: str, dirs: Sequence[str]) -> dict[str, WrittenDir]:
        """Bytes below each directory of a kept run, and who owns what the app wrote there."""
        with self._daemon("reading what the writable run wrote"):
            return self._written(handle, dirs)

    def _written(self, handle: str, dirs: Sequence[str]) -> dict[str, WrittenDir]:
        with self._lock:
            _, changed = self._kept.get(handle, ([], set()))
        out: dict[str, WrittenDir] = {}
        for d in dirs:
            total, owners = 0, set()
            with _tar_members(self.client().api, handle, d) as members:
                for full, m in members:
                    if m.isdir() and full == d:
                        continue
                    total += m.size if m.isfile() else 0
                    if full in changed:
                        owners.add((m.uid, m.gid))
            out[d] = WrittenDir(total, tuple(sorted(owners)))
        return out

    def discard(self, handle: str) -> None:
        """Remove a kept run's container and its volumes."""
        with self._lock:
            volumes, _ = self._kept.pop(handle, ([], set()))
        self.remove_container(handle)
        for name in volumes:
            self.remove_volume(name)

    def read_file(self, cid: str, path: str) -> str:
        try:
            chunks, _ = self.client().api.get_archive(cid, path)
        except docker.errors.NotFound:
            return ""
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tf:
            for member in tf:
                f = tf.extractfile(member) if member.isfile() else None
                if f is not None:
                    return f.read().decode("utf-8", "replace")
        return ""

    def _listing(self, cid: str, path: str) -> dict[str, tuple[int, float]]:
        """Files below ``path`` in the container: absolute name -> (size, mtime)."""
        with _tar_members(self.client().api, cid, path) as members:
            return {full: (m.size, m.mtime) for full, m in members if not m.isdir()}

    def _sleep(self) -> None:
        self._check()
        time.sleep(POLL)

    def _wait_started(self, container: Any, spec: RunSpec, out: RunOutcome) -> None:
        deadline = time.monotonic() + spec.timeout
        if spec.mode == "job":
            while time.monotonic() < deadline:
                container.reload()
                if container.status in ("exited", "dead"):
                    out.exit_code = container.attrs["State"]["ExitCode"]
                    out.started, out.exited_early = True, True
                    out.start_detail = f"job exited {out.exit_code}"
                    return
                self._sleep()
            out.start_detail = f"job did not finish within {spec.timeout:.0f}s"
            return
        started_at = time.monotonic()
        settle_until = started_at + spec.settle
        last_output, quiet_since = b"", started_at
        while time.monotonic() < deadline:
            container.reload()
            state = container.attrs["State"]
            if state["Status"] in ("exited", "dead"):
                out.exited_early, out.exit_code = True, state["ExitCode"]
                out.start_detail = f"exited {state['ExitCode']} before it was ready"
                return
            if spec.health is not None:
                health = state.get("Health") or {}
                status = health.get("Status")
                if status == "healthy":
                    out.started, out.start_detail = True, "healthy"
                    out.ready_after = time.monotonic() - started_at
                    return
                if status == "unhealthy":
                    log = (health.get("Log") or [{}])[-1]
                    out.start_detail = f"unhealthy: {(log.get('Output') or '').strip()[:200]!r}"
                    return
            else:
                # Ready = running and quiet: no new output for ``settle`` seconds (a slow start logs).
                now = time.monotonic()
                tail = container.logs(stdout=True, stderr=True, tail=1, timestamps=True)
                if tail != last_output:
                    last_output, quiet_since = tail, now
                if now >= settle_until and now - quiet_since >= spec.settle:
                    out.started, out.start_detail = True, f"running, output quiet for {spec.settle:g}s"
                    out.ready_after = now - started_at
                    return
            self._sleep()
        if spec.health is None:
            # Still running at the deadline, output never quiet: a chatty service is running all the same.
            out.started, out.start_detail = True, f"running after {spec.timeout:g}s (output never quiet)"
            out.ready_after = time.monotonic() - started_at
            return
        out.start_detail = f"not healthy within {spec.timeout:.0f}s"

    def _exercise(self, container: Any, spec: RunSpec, out: RunOutcome) -> None:
        for cmd in spec.exercises:
            result: dict[str, Any] = {}

            def target(cmd: str = cmd) -> None:
                try:
                    result["r"] = container.exec_run(["/bin/sh", "-c", cmd])
                except docker.errors.APIError as e:
                    result["e"] = _short(e)

            t = threading.Thread(target=target, daemon=True)
            t.start()
            deadline = time.monotonic() + spec.timeout
            while t.is_alive() and time.monotonic() < deadline:
                t.join(POLL)
                self._check()
            r = result.get("r")
            if r is None or r.exit_code != 0:
                detail = "timed out" if t.is_alive() else (result.get("e") or f"exit {r.exit_code if r else '?'}")
                text = (r.output.decode("utf-8", "replace").strip()[-200:] if r is not None and r.output else "")
                out.exercises_ok, out.exercise_detail = False, f"exercise {cmd!r} failed: {detail} {text}".strip()
                return

    def _stop(self, container: Any, spec: RunSpec, out: RunOutcome) -> None:
        container.reload()
        if container.status in ("exited", "dead"):
            out.stop_exit_code = container.attrs["State"]["ExitCode"]
            return
        try:
            container.kill(signal=spec.stop_signal)
        except docker.errors.APIError:
            pass
        deadline = time.monotonic() + spec.stop_grace
        while time.monotonic() < deadline:
            container.reload()
            if container.status in ("exited", "dead"):
                out.stop_exit_code = container.attrs["State"]["ExitCode"]
                return
            self._sleep()
        try:
            container.kill()
        except docker.errors.APIError:
            pass
        out.stop_exit_code = container.wait(timeout=30)["StatusCode"]


_DIFF_KIND = {0: "C", 1: "A", 2: "D"}
#: Mount targets of a traced run: the bundle, and Docker's init (at /usr/sbin where /sbin is a link).
TRACE_TARGETS = [bundle.MOUNT, "/sbin/docker-init", "/usr/sbin/docker-init"]


@contextlib.contextmanager
def _tar_members(api: Any, cid: str, path: str) -> Iterator[Iterator[tuple[str, tarfile.TarInfo]]]:
    """Stream the members of ``path``'s archive as (absolute path, member); empty when it is missing."""
    try:
        chunks, _ = api.get_archive(cid, path, chunk_size=64 * 1024)
    except docker.errors.NotFound:
        yield iter(())
        return
    base = posixpath.dirname(path.rstrip("/")) if path != "/" else ""

    def members() -> Iterator[tuple[str, tarfile.TarInfo]]:
        with tarfile.open(fileobj=io.BufferedReader(_Stream(iter(chunks))), mode="r|") as tf:
            for m in tf:
                yield posixpath.normpath(posixpath.join("/", base, m.name)), m

    try:
        yield members()
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


#: Log lines worth keeping from a run whatever its size: what the log parsers and limit checks read.
_EVIDENCE_HINT = re.compile(rb"(?i)read-only|erofs|errno|permission denied|denied|no such file|nonexistent|"
                            rb"not a directory|fork|resource temporarily|native thread|pthread|os error|failed|cannot|"
                            rb"can't|unable|temporary|directory")
LOG_TAIL_LINES = 400
LOG_KEEP_LINES = 20_000
LOG_LINE_BYTES = 4096


def _bounded_logs(chunks: Iterator[bytes]) -> str:
    """A run's output in bounded memory, however much it printed: every line that may be evidence
    (up to 20,000, each cut at 4 KiB, in order), then the last 400 other lines."""
    kept: list[bytes] = []
    tail: collections.deque[bytes] = collections.deque(maxlen=LOG_TAIL_LINES)
    partial = b""
    dropped = 0

    def take(line: bytes) -> None:
        nonlocal dropped
        line = line[:LOG_LINE_BYTES]
        if _EVIDENCE_HINT.search(line) and len(kept) < LOG_KEEP_LINES:
            kept.append(line)
            tail.append(b"")  # already kept: only a placeholder keeps the tail's order
        else:
            dropped += 1
            tail.append(line)

    for chunk in chunks:
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()[-LOG_LINE_BYTES:]
        for line in lines:
            take(line)
    if partial:
        take(partial)
    text = b"\n".join([*kept, *(t for t in tail if t)])
    return text.decode("utf-8", "replace")


#: What the SDK raises when the daemon's socket goes away mid-call (refused, reset, timed out).
_CONNECTION: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError, requests.exceptions.Timeout, urllib3.exceptions.HTTPError,
)


def _daemon_url() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _archive_head(api: Any, cid: str, path: str) -> dict[str, Any]:
    """HEAD /containers/{id}/archive: the stat of ``path`` without its content (docker-py has no call)."""
    res = api.head(api._url("/containers/{0}/archive", cid), params={"path": path})
    api._raise_for_status(res)
    raw = res.headers.get("X-Docker-Container-Path-Stat", "")
    return json.loads(base64.b64decode(raw)) if raw else {}


def _short(e: Exception) -> str:
    text = getattr(e, "explanation", None) or str(e)
    return str(text).strip().splitlines()[0][:300] if str(text).strip() else type(e).__name__


def build_image(runtime: DockerRuntime, context: str, tag: str) -> None:
    """``docker build`` a local context (no pulls: every FROM must be local)."""
    try:
        runtime.client().images.build(path=context, tag=tag, rm=True, forcerm=True, pull=False,
                                      labels={"ecs5probe.sample": "1"})
    except docker.errors.BuildError as e:
        tail = " ".join(str(x.get("stream") or x.get("error") or "").strip() for x in list(e.build_log)[-3:])
        raise RuntimeFailure(f"building {tag} failed: {_short(e)} {tail}".strip()) from None
    except docker.errors.APIError as e:
        raise RuntimeFailure(f"building {tag} failed: {_short(e)}") from None


def image_exists(runtime: DockerRuntime, tag: str) -> bool:
    try:
        runtime.client().api.inspect_image(tag)
        return True
    except docker.errors.ImageNotFound:
        return False
