"""strace output -> write attempts: every way a program writes, paths resolved with ``-y``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ecs5probe.core.paths import normalise
from ecs5probe.core.tracefacts import PRIVILEGE_SYSCALLS
from ecs5probe.model import Write

#: errnos that mean "a write was refused"; EACCES/EPERM matter on mounted paths (root-owned mounts).
WRITE_ERRNOS = frozenset({"EROFS", "EACCES", "EPERM"})
#: errnos that mean "a directory on the way is missing" (ENOENT) or is not one (ENOTDIR): evidence when
#: a mount hides what the image ships there; counted only for calls that create an entry.
MISSING_ERRNOS = frozenset({"ENOENT", "ENOTDIR"})
_CREATES = frozenset(
    {
        "creat",
        "mkdir",
        "mkdirat",
        "mknod",
        "mknodat",
        "bind",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
    }
)
_WRITE_FLAGS = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND")


@dataclass(frozen=True)
class _Sig:
    """Where a syscall names the paths it writes: (dirfd index or None, path index) pairs."""

    paths: tuple[tuple[int | None, int], ...]
    flags: int | None = None  # index of open flags: only a write intent counts
    fd: int | None = None  # the path is the fd's (fchmod, ftruncate...)


SYSCALLS: dict[str, _Sig] = {
    "open": _Sig(((None, 0),), flags=1),
    "openat": _Sig(((0, 1),), flags=2),
    "openat2": _Sig(((0, 1),), flags=2),
    "creat": _Sig(((None, 0),)),
    "mkdir": _Sig(((None, 0),)),
    "mkdirat": _Sig(((0, 1),)),
    "mknod": _Sig(((None, 0),)),
    "mknodat": _Sig(((0, 1),)),
    "unlink": _Sig(((None, 0),)),
    "unlinkat": _Sig(((0, 1),)),
    "rmdir": _Sig(((None, 0),)),
    "rename": _Sig(((None, 0), (None, 1))),
    "renameat": _Sig(((0, 1), (2, 3))),
    "renameat2": _Sig(((0, 1), (2, 3))),
    "link": _Sig(((None, 1),)),
    "linkat": _Sig(((2, 3),)),
    "symlink": _Sig(((None, 1),)),
    "symlinkat": _Sig(((1, 2),)),
    "truncate": _Sig(((None, 0),)),
    "ftruncate": _Sig((), fd=0),
    "chmod": _Sig(((None, 0),)),
    "fchmod": _Sig((), fd=0),
    "fchmodat": _Sig(((0, 1),)),
    "fchmodat2": _Sig(((0, 1),)),
    "chown": _Sig(((None, 0),)),
    "lchown": _Sig(((None, 0),)),
    "fchown": _Sig((), fd=0),
    "fchownat": _Sig(((0, 1),)),
    "utime": _Sig(((None, 0),)),
    "utimes": _Sig(((None, 0),)),
    "utimensat": _Sig(((0, 1),)),
    "futimesat": _Sig(((0, 1),)),
    "setxattr": _Sig(((None, 0),)),
    "lsetxattr": _Sig(((None, 0),)),
    "fsetxattr": _Sig((), fd=0),
    "removexattr": _Sig(((None, 0),)),
    "lremovexattr": _Sig(((None, 0),)),
    "bind": _Sig(((None, 1),)),  # AF_UNIX sun_path; not in strace's %file class
}
#: Traced only to know each process's working directory (relative paths in rename(), link()...).
CWD_SYSCALLS = ("chdir", "fchdir")
#: Traced only to know which process a new one comes from: it starts in its parent's directory.
PROC_SYSCALLS = ("clone", "clone3", "fork", "vfork")
#: Traced only to learn whom a daemon that starts as root becomes (``-u user``, ``User`` in its config).
ID_SYSCALLS = ("setuid", "setgid", "setresuid", "setresgid", "setreuid", "setregid")

#: The strace ``-e trace=`` list that covers every syscall above; ``?`` lets an older strace skip the
#: ones it does not know (strace 6.1 has no fchmodat2).
#: ``PRIVILEGE_SYSCALLS``: traced only for privilege evidence (calls whose refusal names a capability).
TRACE_SET = ",".join(
    f"?{name}" for name in sorted({*SYSCALLS, *CWD_SYSCALLS, *PROC_SYSCALLS, *ID_SYSCALLS, *PRIVILEGE_SYSCALLS})
)

_LINE = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<rest>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>(?P<tail>.*)$")
_RESULT = re.compile(r"^\s*=\s*(?P<ret>-?\d+|\?|0x[0-9a-f]+)(?:<(?P<retpath>[^>]*)>)?(?:\s+(?P<errno>E[A-Z0-9]+))?")
_FD_ANNOT = re.compile(r"^(?:AT_FDCWD|-?\d+)<(?P<path>.*)>$")
_CWD_ANNOT = re.compile(r"AT_FDCWD<(?P<path>[^>]*)>")
_SUN_PATH = re.compile(r'sun_path=(?P<q>"(?:[^"\\]|\\.)*")')
_SHARES_FS = re.compile(r"\bCLONE_(?:FS|THREAD)\b")


@dataclass
class _Dir:
    """A working directory, shared by the processes that share it (threads, CLONE_FS children).

    ``path`` is None where it cannot be known (a chdir whose argument strace could not read: a process
    that dropped privileges). A child copies its parent's at fork; until either moves, learning one
    (from strace's ``AT_FDCWD<dir>``) teaches the other."""

    path: str | None
    moves: int = 0
    parent: _Dir | None = None
    parent_moves: int = 0


class StraceParser:
    """Stateful: joins ``<unfinished ...>`` with ``<... resumed>`` per pid across lines."""

    def __init__(self, include_success: bool = False, cwd: str = "/"):
        self.include_success = include_success
        self.cwd = cwd or "/"  # where a process that never changed directory works: the container's WORKDIR
        self._pending: dict[str, str] = {}
        self._cwd: dict[str, _Dir] = {}  # pid -> its working directory
        self._moved = False  # some process changed directory: a process of unknown parentage may have too
        self.unnamed = 0  # successful writes whose path strace could not read (see unnamed_writes)

    def _cell(self, pid: str) -> _Dir:
        cell = self._cwd.get(pid)
        if cell is None:  # never seen forked (its parent's clone() not yet returned): the WORKDIR, unless
            cell = self._cwd[pid] = _Dir(None if self._moved else self.cwd)  # someone moved already
        return cell

    def _move(self, pid: str, path: str | None) -> None:
        cell = self._cell(pid)
        cell.path, cell.moves, cell.parent = path, cell.moves + 1, None
        self._moved = True

    def _known(self, pid: str, path: str) -> None:
        """strace named the process's directory: so is its parent's, where neither moved since the fork."""
        cell = self._cell(pid)
        cell.path = path
        while cell.parent is not None and cell.moves == 0 and cell.parent.moves == cell.parent_moves:
            cell = cell.parent
            if cell.path is not None:
                break
            cell.path = path
        if path != self.cwd:
            self._moved = True

    def feed(self, line: str) -> Write | None:
        line = line.rstrip("\n")
        m = _LINE.match(line)
        pid, rest = (m.group("pid"), m.group("rest")) if m else ("0", line)
        if rest.endswith("<unfinished ...>"):
            self._pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            return None
        r = _RESUMED.match(rest)
        if r:
            head = self._pending.pop(pid, None)
            if head is None:
                return None
            rest = head + r.group("tail")
        cwd = _CWD_ANNOT.search(rest)
        if cwd:
            self._known(pid, cwd.group("path"))
        return self._call(rest, line, pid)

    def _call(self, text: str, original: str, pid: str = "0") -> Write | None:
        paren = text.find("(")
        if paren <= 0:
            return None
        name = text[:paren]
        if name in CWD_SYSCALLS:
            self._chdir(pid, text, paren)
            return None
        if name in PROC_SYSCALLS:
            self._fork(pid, text, paren)
            return None
        sig = SYSCALLS.get(name)
        if sig is None:
            return None
        args, end = _split_args(text, paren + 1)
        if end < 0:
            return None
        res = _RESULT.match(text[end + 1 :])
        if not res:
            return None
        errno = res.group("errno")
        flags = args[sig.flags] if sig.flags is not None and len(args) > sig.flags else ""
        if errno is None:
            if not self.include_success or res.group("ret") in ("?",) or res.group("ret").startswith("-"):
                return None
        elif errno in MISSING_ERRNOS:
            if name not in _CREATES and "O_CREAT" not in flags:
                return None  # unlink() of a file that is not there, open() of a missing file: not a write
        elif errno not in WRITE_ERRNOS:
            return None
        if sig.flags is not None and not any(f in flags for f in _WRITE_FLAGS):
            return None
        path = self._path(name, sig, args, pid)
        if path is None and errno is None and name != "bind":
            self.unnamed += 1
        if path is None and (errno != "EROFS" or name == "bind"):
            return None  # a refused write whose path cannot be named is still evidence (pathless)
        return Write(path=path, source="strace", errno=errno, op=name, line=original.strip()[:500])

    def _path(self, name: str, sig: _Sig, args: list[str], pid: str) -> str | None:
        """The path a call writes: the fd's, or its path argument resolved against the dirfd or the
        process's working directory (for rename, the destination). None where it cannot be known: a
        relative path against a directory fd or a working directory strace could not name."""
        path = None
        if sig.fd is not None and len(args) > sig.fd:
            fd = _FD_ANNOT.match(args[sig.fd])
            path = fd.group("path") if fd else None
        for dir_i, path_i in sig.paths:
            if len(args) <= path_i:
                continue
            raw = args[path_i]
            value: str | None
            if name == "bind":
                sp = _SUN_PATH.search(raw)
                if not sp:
                    return None  # not a unix socket, or an abstract one (no file)
                value = _unquote(sp.group("q"))
            elif raw == "NULL" and dir_i is not None:  # utimensat(fd, NULL, ...): the fd itself
                d = _FD_ANNOT.match(args[dir_i]) if len(args) > dir_i else None
                value = d.group("path") if d else None
            else:
                value = _unquote(raw) if raw.startswith('"') else None
            if value is None:
                path = None
                continue
            base = self._cell(pid).path
            if dir_i is not None and len(args) > dir_i:
                d = _FD_ANNOT.match(args[dir_i])
                if d:
                    base = d.group("path")
                elif args[dir_i] != "AT_FDCWD":
                    base = None  # a directory fd strace could not name
            path = _resolve(value, base)
        return path

    def _chdir(self, pid: str, text: str, paren: int) -> None:
        args, end = _split_args(text, paren + 1)
        res = _RESULT.match(text[end + 1 :]) if end >= 0 else None
        if not args or not res or res.group("errno"):
            return
        fd = _FD_ANNOT.match(args[0])
        if fd:
            self._move(pid, fd.group("path"))
        elif args[0].startswith('"'):
            base = self._cell(pid).path
            value = _unquote(args[0])
            self._move(pid, _resolve(value, base))
        else:  # an address strace could not read, or a directory fd it could not name
            self._move(pid, None)

    def _fork(self, pid: str, text: str, paren: int) -> None:
        """A new process starts in its parent's directory; threads and CLONE_FS children share it."""
        res = _RESULT.match(text[text.rfind(")") + 1 :])
        if not res or res.group("errno") or not res.group("ret").isdigit() or res.group("ret") == "0":
            return
        child, parent = res.group("ret"), self._cell(pid)
        shares = _SHARES_FS.search(text[paren:])
        self._cwd[child] = parent if shares else _Dir(parent.path, 0, parent, parent.moves)


def _resolve(value: str, base: str | None) -> str | None:
    """``value`` as an absolute path, taken against ``base``; None when relative to an unknown base."""
    if value.startswith("/") or base is not None:
        return normalise(value, base or "/")
    return None


def unnamed_writes(lines: Iterable[str], cwd: str = "/") -> int:
    """How many writes succeeded that strace saw but could not name: a path in memory it could not read
    (a process that dropped privileges or made itself undumpable: postfix's master opening its lock
    file), or relative to a directory it could not name. The trace misses those; docker diff may not."""
    parser = StraceParser(include_success=True, cwd=cwd)
    for line in lines:
        parser.feed(line)
    return parser.unnamed


def parse_trace(lines: Iterable[str], include_success: bool = False, cwd: str = "/") -> list[Write]:
    """Every write attempt in a trace, duplicates (same path, errno, syscall) removed, in order.

    ``cwd`` is the container's working directory: relative paths of a process that never changed
    directory are taken against it (a forked child inherits it).
    """
    parser = StraceParser(include_success, cwd)
    seen: set[tuple[str | None, str | None, str]] = set()
    out = []
    for line in lines:
        w = parser.feed(line)
        if w is None:
            continue
        key = (w.path, w.errno, w.op)
        if key not in seen:
            seen.add(key)
            out.append(w)
    return out


def _split_args(text: str, start: int) -> tuple[list[str], int]:
    """Split the top-level arguments of a call; returns them and the index of the closing paren."""
    args, depth, buf, i, in_str = [], 0, [], start, False
    while i < len(text):
        c = text[i]
        if in_str:
            buf.append(c)
            if c == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            buf.append(c)
        elif c in "([{":
            depth += 1
            buf.append(c)
        elif c in ")]}":
            if depth == 0 and c == ")":
                args.append("".join(buf).strip())
                return [a for a in args if a != ""], i
            depth -= 1
            buf.append(c)
        elif c == "," and depth == 0:
            args.append("".join(buf).strip())
            buf = []
        else:
            buf.append(c)
        i += 1
    return [], -1


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "v": "\v", "f": "\f", '"': '"', "\\": "\\"}


def _unquote(q: str) -> str:
    """A C string as strace prints it (``\\n``, ``\\"``, ``\\ooo``, ``\\xHH``), without a trailing ``...``."""
    body = q[1:-1] if q.endswith('"') else q[1:]
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            n = body[i + 1]
            if n in _ESCAPES:
                out += _ESCAPES[n].encode()
                i += 2
            elif n == "x" and re.match(r"[0-9a-fA-F]{2}", body[i + 2 : i + 4]):
                out.append(int(body[i + 2 : i + 4], 16))
                i += 4
            elif n in "01234567":
                digits = re.match(r"[0-7]{1,3}", body[i + 1 :])
                assert digits
                out.append(int(digits.group(0), 8) & 0xFF)
                i += 1 + len(digits.group(0))
            else:
                out += n.encode()
                i += 2
        else:
            out += c.encode()
            i += 1
    return out.decode("utf-8", "replace")
