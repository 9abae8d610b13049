"""Reading a container's files through the archive endpoint, streamed: one tar-member iterator for all."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import posixpath
import tarfile
from collections.abc import Iterator
from typing import Any

import docker.errors

_DIR_BIT = 1 << 31
_LINK_BIT = 1 << 27


class Stream(io.RawIOBase):
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


@contextlib.contextmanager
def members(api: Any, cid: str, path: str) -> Iterator[Iterator[tuple[str, tarfile.TarInfo]]]:
    """Stream the members of ``path``'s archive as (absolute path, member); empty when it is missing."""
    try:
        chunks, _ = api.get_archive(cid, path, chunk_size=64 * 1024)
    except docker.errors.NotFound:
        yield iter(())
        return
    base = posixpath.dirname(path.rstrip("/")) if path != "/" else ""

    def each() -> Iterator[tuple[str, tarfile.TarInfo]]:
        with tarfile.open(fileobj=io.BufferedReader(Stream(iter(chunks))), mode="r|") as tf:
            for m in tf:
                yield posixpath.normpath(posixpath.join("/", base, m.name)), m

    try:
        yield each()
    finally:
        close = getattr(chunks, "close", None)
        if close:
            close()


def path_stat(api: Any, cid: str, path: str) -> dict[str, Any] | None:
    """The stat of ``path`` (not following a final symlink), or None when it is missing.

    ``HEAD /containers/{id}/archive``: the stat header without the content. docker-py has no call for
    it; its APIClient is a requests Session, so this is requests' own ``head`` on the daemon's URL.
    (A GET closed early would leave the daemon tarring a large directory, and fail the next read.)
    """
    url = f"{api.base_url}/v{api.api_version}/containers/{cid}/archive"
    res = api.head(url, params={"path": path})
    if res.status_code == 404:
        return None
    res.raise_for_status()
    raw = res.headers.get("X-Docker-Container-Path-Stat", "")
    return dict(json.loads(base64.b64decode(raw))) if raw else {}


def is_link(stat: dict[str, Any]) -> bool:
    return bool(int(stat.get("mode", 0)) & _LINK_BIT)


def is_dir(stat: dict[str, Any]) -> bool:
    return bool(int(stat.get("mode", 0)) & _DIR_BIT)


def read_file(api: Any, cid: str, path: str) -> str:
    """A file's text ("" when it is missing)."""
    try:
        chunks, _ = api.get_archive(cid, path)
    except docker.errors.NotFound:
        return ""
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tf:
        for member in tf:
            f = tf.extractfile(member) if member.isfile() else None
            if f is not None:
                return f.read().decode("utf-8", "replace")
    return ""


def listing(api: Any, cid: str, path: str) -> dict[str, tuple[int, float]]:
    """Files below ``path``: absolute name -> (size, mtime)."""
    with members(api, cid, path) as found:
        return {full: (m.size, m.mtime) for full, m in found if not m.isdir()}
