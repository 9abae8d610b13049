"""A session on the daemon: its client, labels on everything it makes, cancellation, and cleanup that
leaves nothing behind (by label, even after a crash: dead sessions are reaped at first contact)."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import docker
import docker.errors
import requests
import urllib3

from ecs5probe.errors import Cancelled, DaemonUnavailable, Ecs5ProbeError
from ecs5probe.runtime.args import HOST_LABEL, PID_LABEL, SESSION_LABEL


class RuntimeFailure(Ecs5ProbeError):
    """Docker refused an operation in the middle of a probe."""


#: What the SDK raises when the daemon's socket goes away mid-call (refused, reset, timed out).
CONNECTION: tuple[type[Exception], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    urllib3.exceptions.HTTPError,
)


#: A daemon that cannot be reached, or went away mid-call.
_LOST: tuple[type[Exception], ...] = (DaemonUnavailable, *CONNECTION)


def daemon_url() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def short(e: BaseException) -> str:
    text = getattr(e, "explanation", None) or str(e)
    return str(text).strip().splitlines()[0][:300] if str(text).strip() else type(e).__name__


class Session:
    """One ecs5probe session: thread-safe, one client per thread, everything it makes labelled."""

    def __init__(self, session: str | None = None, client_factory: Callable[[], Any] | None = None):
        self.session = session or uuid.uuid4().hex[:12]
        self._factory: Callable[[], Any] = client_factory or self._from_env
        self._api_version: str | None = None  # negotiated by the first client; the others reuse it
        self._local = threading.local()
        self._cancel = threading.Event()
        self._lock = threading.RLock()  # re-entered: tracer set-up tracks its helper under it
        self._containers: set[str] = set()
        self._volumes: set[str] = set()
        self._reaped = False
        self.lost = False  # the daemon went away during this session
        self.first_reaped = (0, 0)  # what the first contact removed of dead sessions

    @property
    def labels(self) -> dict[str, str]:
        return {SESSION_LABEL: self.session, PID_LABEL: str(os.getpid()), HOST_LABEL: socket.gethostname()}

    def _from_env(self) -> Any:
        # A thread's client after the first: the API version the first negotiated (each negotiation
        # and ping is a round trip, 20-40 ms on this machine, paid by every thread of a wave).
        return docker.from_env(timeout=120, version=self._api_version or "auto")

    def client(self) -> Any:
        c = getattr(self._local, "client", None)
        if c is None:
            try:
                c = self._factory()
                if self._api_version is None:  # the first contact: is the daemon there at all?
                    c.ping()
                    self._api_version = getattr(getattr(c, "api", None), "api_version", None)
            except docker.errors.DockerException as e:
                raise DaemonUnavailable(f"cannot reach the Docker daemon ({short(e)}); is it running?") from None
            except Exception as e:  # requests' connection errors and the like
                raise DaemonUnavailable(f"cannot reach the Docker daemon ({short(e)}); is it running?") from None
            self._local.client = c
            if not self._reaped:
                self._reaped = True
                self.first_reaped = self.reap(dead_only=True)
        return c

    @contextlib.contextmanager
    def daemon(self, during: str) -> Iterator[None]:
        """Turn a connection lost mid-call (daemon crash, restart) into one clear line, exit 2."""
        try:
            yield
        except CONNECTION as e:
            self.lost = True
            raise DaemonUnavailable(
                f"lost the Docker daemon at {daemon_url()} during {during} ({short(e)[:120]})"
            ) from None
        except docker.errors.APIError as e:  # the daemon refused something we did not expect it to
            raise RuntimeFailure(f"docker failed during {during}: {short(e)}") from None

    def check(self) -> None:
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
        except _LOST:
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
        for n in client.api.networks(filters=mine):
            self._remove_network(n["Id"])

    def _remove_network(self, nid: str) -> None:
        try:
            self.client().api.remove_network(nid)
        except docker.errors.NotFound:
            pass
        except _LOST:
            self.lost = True

    def track(self, container: str | None = None, volume: str | None = None) -> None:
        """Remember what this session made, so that close() removes it even if its label sweep cannot."""
        with self._lock:
            if container:
                self._containers.add(container)
            if volume:
                self._volumes.add(volume)

    def remove_container(self, cid: str) -> None:
        try:
            self.client().api.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except _LOST:  # the daemon is gone: its labels let a later run reap it
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
            except _LOST:
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
        for n in client.api.networks(filters={"label": SESSION_LABEL}):
            if dead(n.get("Labels") or {}):
                self._remove_network(n["Id"])
        return nc, nv
