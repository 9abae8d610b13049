"""Container log lines -> failed write attempts: one table of patterns, one per runtime's format."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecs5probe.core.paths import normalise
from ecs5probe.model import Write

EROFS = "EROFS"
EACCES = "EACCES"
ENOENT = "ENOENT"

_P = r"(?P<path>/[^\s'\"`:,()\]]*(?:[^\s'\"`:,()\].]))"  # an absolute path token (no trailing dot)
_Q = r"['\"](?P<path>[^'\"]+)['\"]"  # a quoted path, absolute or relative


@dataclass(frozen=True)
class LogPattern:
    """One log format: ``name``, the runtime it comes from, and a regex with an optional ``path`` group."""

    name: str
    regex: re.Pattern[str]
    errno: str
    tmpdir: bool = False  # the message means "the temporary directory", not a named path


def _p(name: str, pattern: str, errno: str = EROFS, tmpdir: bool = False) -> LogPattern:
    return LogPattern(name, re.compile(pattern), errno, tmpdir)


_ROFS = r"(?:Read-only file system|read-only file system)"
_DENIED = r"(?:Permission denied|permission denied)"
_NOENT = r"(?:No such file or directory|no such file or directory)"

#: Specific formats first; the first match wins. Every entry is unit-tested with a real message.
PATTERNS: tuple[LogPattern, ...] = (
    # nginx and other C programs printing "(30: Read-only file system)" after a quoted path
    _p("nginx", r"\w+\(\) " + _Q + r" failed \(30: " + _ROFS + r"\)"),
    _p("nginx-eacces", r"\w+\(\) " + _Q + r" failed \(13: " + _DENIED + r"\)", EACCES),
    # Apache httpd (APR): "(30)Read-only file system: AH00091: apache2: could not open error log file /x."
    _p("apache", r"\(30\)" + _ROFS + r": AH\d+: .*?" + _P),
    # PostgreSQL: FATAL:  could not create lock file "/var/run/postgresql/.s.PGSQL.5432.lock": Read-only file system
    _p("postgresql", r"(?:FATAL|ERROR|LOG|PANIC):\s+could not \w+ (?:\w+ )*?(?:file|directory) " + _Q + r": " + _ROFS),
    # Redis: Failed opening the temp RDB file temp-1.rdb (in server root dir /data) for saving: Read-only file system
    _p(
        "redis-rdb",
        r"Failed opening the (?:temp )?RDB file (?P<name>\S+) \(in server root dir (?P<dir>/\S*)\) for saving: "
        + _ROFS,
    ),
    _p("redis", r"(?:Can't open|Opening) .*?" + _P + r".*?: " + _ROFS),
    # Python: OSError: [Errno 30] Read-only file system: '/app/x'
    _p("python", r"\[Errno 30\] " + _ROFS + r": " + _Q),
    _p("python-eacces", r"\[Errno 13\] " + _DENIED + r": " + _Q, EACCES),
    # Python tempfile: FileNotFoundError: [Errno 2] No usable temporary directory found in ['/tmp', ...]
    _p("python-tempfile", r"No usable temporary directory found in", ENOENT, tmpdir=True),
    # Node.js / npm: Error: EROFS: read-only file system, open '/app/x'
    _p("node", r"EROFS: read-only file system, \w+ " + _Q),
    _p("node-eacces", r"EACCES: permission denied, \w+ " + _Q, EACCES),
    # Java: java.io.FileNotFoundException: /x/y (Read-only file system)
    _p("java-io", r"java\.io\.\w+Exception: " + _P + r" \(" + _ROFS + r"\)"),
    # Java NIO: java.nio.file.FileSystemException: /x/y: Read-only file system
    _p("java-nio", r"java\.nio\.file\.\w+Exception: " + _P + r": " + _ROFS),
    # Java: createTempFile with no path in the message
    _p("java-tempfile", r"java\.io\.IOException: " + _ROFS + r"\s*$", tmpdir=True),
    # Ruby: Errno::EROFS: Read-only file system @ rb_sysopen - /x/y
    _p("ruby", r"" + _ROFS + r" @ \w+ - " + _P),
    # .NET: System.IO.IOException: Read-only file system : '/tmp/.dotnet/shm'
    _p("dotnet", r"System\.IO\.IOException: " + _ROFS + r" : " + _Q),
    # Go: open /x/y: read-only file system ; mkdir /x: read-only file system
    _p(
        "go",
        r"\b(?:open|mkdir|mkdirall|remove|rename|symlink|link|chmod|chown|truncate|create) "
        + _P
        + r": read-only file system",
    ),
    # GNU coreutils: touch: cannot touch '/x': Read-only file system ; mkdir: cannot create directory '/x': ...
    _p(
        "coreutils",
        r"cannot (?:touch|create (?:regular file|directory|symbolic link|link|temporary file)|remove|open|move|make directory) [‘'\"](?P<path>[^’'\"]+)[’'\"]: "
        + _ROFS,
    ),
    # GNU mktemp: mktemp: failed to create file via template '/tmp/tmp.XXXXXXXXXX': Read-only file system
    _p(
        "coreutils-mktemp", r"failed to create (?:file|directory) via template [‘'\"](?P<path>[^’'\"]+)[’'\"]: " + _ROFS
    ),
    # busybox mktemp prints no path: mktemp: (null): Read-only file system
    _p("busybox-mktemp", r"mktemp: \(null\): " + _ROFS, tmpdir=True),
    # busybox / dash shells: sh: can't create /x/y: Read-only file system ; /bin/sh: 1: cannot create /x: ...
    _p("shell-redirect", r"(?:can't|cannot) create " + _P + r": " + _ROFS),
    _p("shell-redirect-eacces", r"(?:can't|cannot) create " + _P + r": " + _DENIED, EACCES),
    # busybox applets: mkdir: can't create directory '/x': Read-only file system
    _p("busybox", r"can't (?:create directory|create|open|remove|move) [‘'\"]?(?P<path>/[^’'\"]+?)[’'\"]?: " + _ROFS),
    # A missing directory on the way (a mount hid what the image ships there): evidence only under a mount.
    # mktemp: failed to create directory via template '/var/lock/app.XXXXXXXXXX': No such file or directory
    _p(
        "coreutils-mktemp-enoent",
        r"failed to create (?:file|directory) via template [‘'\"](?P<path>[^’'\"]+)[’'\"]: " + _NOENT,
        ENOENT,
    ),
    # HAProxy: Starting proxy ...: cannot bind UNIX socket (No such file or directory) [/run/haproxy/admin.sock]
    _p("haproxy-enoent", r"cannot bind UNIX socket \(No such file or directory\) \[" + _P + r"\]", ENOENT),
    # busybox / dash shells: sh: can't create /run/x/y: nonexistent directory
    _p("shell-enoent", r"(?:can't|cannot) create " + _P + r": (?:nonexistent directory|Directory nonexistent)", ENOENT),
    # Rust: Read-only file system (os error 30): no path
    _p("rust", r"" + _ROFS + r" \(os error 30\)"),
    # perror / bash / busybox applets: "touch: /x/y: Read-only file system", "bash: /x: Read-only file system"
    _p("perror", _P + r": " + _ROFS),
    _p("perror-eacces", _P + r": " + _DENIED, EACCES),
    # anything else that says read-only file system: path if one is named, else path-less
    _p("generic", r"(?i)(?:read-only file system|\bEROFS\b|errno 30\b)"),
)

_ABS_TOKEN = re.compile(r"(?<![\w.])(/[\w.@+\-/]+)")


def parse_line(line: str, cwd: str | None = "/", tmpdir: str = "/tmp") -> Write | None:
    """The failed write a log line reports, or None when the line reports none.

    A relative path is taken against ``cwd``; with ``cwd`` None (the process may have changed its
    directory) it stays unresolved: the write has no path, never one in ``/``.
    """
    text = line.strip()
    if not text:
        return None
    for pat in PATTERNS:
        m = pat.regex.search(text)
        if not m:
            continue
        path: str | None
        groups = m.groupdict()
        if pat.tmpdir:
            path = tmpdir
        elif groups.get("dir") is not None:
            path = normalise(f"{groups['dir']}/{groups['name']}")
        elif groups.get("path"):
            raw = groups["path"]
            path = normalise(raw, cwd or "/") if raw.startswith("/") or cwd is not None else None
        else:
            tok = _ABS_TOKEN.search(text)
            path = normalise(tok.group(1)) if tok else None
        return Write(path=path, source="log", errno=pat.errno, op="write", line=text[:500], pattern=pat.name)
    return None


def parse_logs(text: str, cwd: str | None = "/", tmpdir: str = "/tmp") -> list[Write]:
    """Every failed write in a container's log output, in order, duplicates removed."""
    seen: set[tuple[str | None, str]] = set()
    out: list[Write] = []
    for line in text.splitlines():
        w = parse_line(line, cwd=cwd, tmpdir=tmpdir)
        if w is None:
            continue
        key = (w.path, w.errno or "")
        if key in seen:
            continue
        seen.add(key)
        out.append(w)
    return out


#: Messages of a process that could not fork or start a thread: the container's pids limit.
_PIDS_EXHAUSTED = re.compile(
    r"fork: (?:retry: )?Resource temporarily unavailable|can't fork|[Cc]annot fork|"
    r"unable to create (?:new )?native thread|pthread_create(?:\(\))? failed|Resource temporarily unavailable.*fork"
)


def pids_exhausted(text: str) -> str | None:
    """The first log line that says a process could not be created, if any."""
    for line in text.splitlines():
        if _PIDS_EXHAUSTED.search(line):
            return line.strip()[:300]
    return None
