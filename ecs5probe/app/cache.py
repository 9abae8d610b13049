"""The result cache on disk: one JSON file per key, written atomically, read back only when whole and ours.

Layout: ``DIR/results/<first two hex digits>/<key>.json``. Several processes (CI shards sharing one
restored directory) may write at once: each entry is written to a temporary file beside it and moved
into place with :func:`os.replace`, so a reader sees a whole entry or none. An entry that is not valid
JSON, not of this cache's format, filed under another key, edited since it was written, or written by
another version is ignored with a warning, never trusted. A directory that cannot be written costs only
the saving: the probe goes on, with one warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecs5probe.app.cachekey import FORMAT, digest
from ecs5probe.version import __version__

log = logging.getLogger(__name__)

RESULTS = "results"
_NAME = re.compile(r"[0-9a-f]{64}\.json")
_SHARD = re.compile(r"[0-9a-f]{2}")
_TEMP_PREFIX = ".tmp-"


def default_dir(environ: dict[str, str] | None = None) -> str:
    """The user's cache directory: ``$XDG_CACHE_HOME/ecs5probe``, else ``~/.cache/ecs5probe``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ecs5probe")


@dataclass(frozen=True)
class Entry:
    """One stored result: its key, what it is (``image`` or ``deployment``), when and by which version it
    was probed, and the result as JSON data."""

    key: str
    kind: str
    probed_at: str
    version: str
    body: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "key": self.key,
            "kind": self.kind,
            "probedAt": self.probed_at,
            "version": self.version,
            "digest": digest(self.body),
            "body": self.body,
        }

    @property
    def age_days(self) -> float:
        try:
            then = datetime.fromisoformat(self.probed_at)
        except ValueError:
            return float("inf")
        return (datetime.now(UTC) - then).total_seconds() / 86400


class Invalid(ValueError):
    """An entry that must not be trusted, and why."""


def parse(text: str, key: str | None = None) -> Entry:
    """An entry from its file's text; :class:`Invalid` when it is not whole, not ours, or not ``key``'s."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise Invalid(f"not JSON (truncated or corrupt: {e})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise Invalid(f"not an entry of this cache (format {FORMAT})")
    body = doc.get("body")
    fields = (doc.get("key"), doc.get("kind"), doc.get("probedAt"), doc.get("version"))
    if not isinstance(body, dict) or not all(isinstance(f, str) for f in fields):
        raise Invalid("an entry without its key, kind, time, version or body")
    entry = Entry(str(doc["key"]), str(doc["kind"]), str(doc["probedAt"]), str(doc["version"]), body)
    if key is not None and entry.key != key:
        raise Invalid("filed under another key")
    if doc.get("digest") != digest(body):
        raise Invalid("its content does not match its digest (edited or corrupt)")
    return entry


class Store:
    """The cache in directory ``root`` (made when first written). Safe to share between threads and
    between processes."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self._lock = threading.Lock()
        self._unwritable = False  # warned once: nothing more is tried

    def path(self, key: str) -> Path:
        return self.root / RESULTS / key[:2] / f"{key}.json"

    def get(self, key: str) -> Entry | None:
        """The entry of ``key``, or None (missing, or ignored with a warning)."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            log.warning("cache: %s cannot be read (%s): ignored, probing", path, e)
            return None
        try:
            entry = parse(text, key)
        except Invalid as e:
            log.warning("cache: %s ignored: %s", path, e)
            return None
        if entry.version != __version__:
            log.warning("cache: %s ignored: written by ecs5probe %s, this is %s", path, entry.version, __version__)
            return None
        return entry

    def put(self, key: str, kind: str, body: dict[str, Any]) -> bool:
        """Store ``body`` under ``key`` atomically; False (with one warning) when the directory cannot be
        written."""
        if self._unwritable:
            return False
        now = datetime.now(UTC).isoformat(timespec="seconds")
        entry = Entry(key, kind, now, __version__, body)
        path = self.path(key)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".json", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry.to_dict(), f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep a shared CI cache to one user
            os.replace(tmp, path)
            tmp = None
        except OSError as e:
            with self._lock:
                if not self._unwritable:
                    log.warning("cache: %s cannot be written (%s): results are not cached", self.root, e)
                self._unwritable = True
            return False
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        return True

    def files(self) -> Iterator[Path]:
        """Every file of the cache's own layout (entries and temporary files), nothing else."""
        top = self.root / RESULTS
        try:
            shards = sorted(d for d in top.iterdir() if d.is_dir() and _SHARD.fullmatch(d.name))
        except OSError:
            return
        for d in shards:
            try:
                names = sorted(d.iterdir())
            except OSError:
                continue
            yield from (p for p in names if _NAME.fullmatch(p.name) or p.name.startswith(_TEMP_PREFIX))

    def prune(self, older_than_days: float | None = None) -> int:
        """Remove entries another version wrote, entries older than ``older_than_days``, entries that are
        not whole, and temporary files a writer left over an hour ago. Returns how many."""
        removed = 0
        for p in self.files():
            if p.name.startswith(_TEMP_PREFIX):
                stale = _mtime_age(p) > 3600
            else:
                try:
                    entry: Entry | None = parse(p.read_text(encoding="utf-8"), p.name[: -len(".json")])
                except (OSError, UnicodeDecodeError, Invalid):
                    entry = None
                stale = (
                    entry is None
                    or entry.version != __version__
                    or (older_than_days is not None and entry.age_days > older_than_days)
                )
            if stale and _remove(p):
                removed += 1
        return removed

    def clear(self) -> int:
        """Remove every entry (only files of the cache's own layout: a directory given by mistake, such
        as ``$HOME``, keeps everything else). Returns how many."""
        removed = sum(_remove(p) for p in self.files())
        top = self.root / RESULTS
        for d in sorted(top.glob("??")):
            with contextlib.suppress(OSError):
                d.rmdir()  # only when empty
        with contextlib.suppress(OSError):
            top.rmdir()
        return removed


def _mtime_age(p: Path) -> float:
    try:
        return time.time() - p.stat().st_mtime
    except OSError:
        return 0.0


def _remove(p: Path) -> bool:
    try:
        p.unlink()
    except FileNotFoundError:
        return False  # another process removed it first
    except OSError as e:
        log.warning("cache: cannot remove %s (%s)", p, e)
        return False
    return True
