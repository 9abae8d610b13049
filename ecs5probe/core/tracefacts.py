"""What a trace tells beyond the writes: programs the app made, whom a daemon became (in any process of
its tree), the ports it binds, and the capabilities its refused calls name (privilege evidence)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ecs5probe.core.ports import is_program
from ecs5probe.model import Write

_CHMODS = ("chmod", "fchmod", "fchmodat", "fchmodat2")
_MODE = re.compile(r",\s*(?P<mode>0[0-7]+)(?:,\s*[A-Z_|0]+)?\)\s*=")


def made_program(w: Write) -> bool:
    """A successful write that made a program (see :func:`ecs5probe.core.ports.is_program`): a shared
    object created, or a file given an execute bit."""
    if w.path is None or w.errno is not None:
        return False
    mode = _MODE.search(w.line) if w.op in _CHMODS else None
    return is_program(w.path, int(mode.group("mode"), 8) if mode else None)


#: The system calls whose refusal names a capability, traced beside the writes (``?``: optional).
PRIVILEGE_SYSCALLS = (
    "socket",
    "setsockopt",
    "ioctl",
    "setpriority",
    "sched_setscheduler",
    "sched_setparam",
    "ioprio_set",
    "mlock",
    "mlock2",
    "mlockall",
    "shmctl",
    "ptrace",
    "process_vm_readv",
    "setrlimit",
    "prlimit64",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "setgroups",
)

_LINE = re.compile(r"^(?:\[pid\s+)?(?P<pid>\d+)\]?\s+(?P<rest>.*)$")
_RESUMED = re.compile(r"^<\.\.\. (?P<name>\w+) resumed>(?P<tail>.*)$")
_CALL = re.compile(
    r"^(?P<name>\w+)\((?P<args>.*)\)\s*=\s*(?P<ret>-?\d+|\?|0x[0-9a-f]+)(?:<[^>]*>)?(?:\s+(?P<errno>E[A-Z0-9]+))?"
)


def calls(lines: Iterable[str]) -> Iterator[tuple[str, str, str, str | None, str]]:
    """(name, arguments, return value, errno, the call's text) of every complete call in a ``strace -f`` trace, a call
    split by another process's (``<unfinished ...>`` then ``<... name resumed>``) joined again."""
    pending: dict[str, str] = {}
    for raw in lines:
        line = raw.rstrip("\n")
        m = _LINE.match(line)
        pid, rest = (m.group("pid"), m.group("rest")) if m else ("0", line)
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        r = _RESUMED.match(rest)
        if r:
            head = pending.pop(pid, None)
            if head is None:
                continue
            rest = head + r.group("tail")
        c = _CALL.match(rest)
        if c:
            yield c.group("name"), c.group("args"), c.group("ret"), c.group("errno"), f"{pid} {rest}"


_SETID = re.compile(r"^set(?:res|re|fs)?(?P<kind>[ug])id(?:32)?$")


def dropped_to(lines: Iterable[str]) -> tuple[int | None, int | None]:
    """The last non-root uid and gid any traced process switched to (a daemon dropping privileges, in
    PID 1 or in the children it forks: apache2's and every prefork server's workers). ``-1`` arguments
    (leave unchanged) are skipped; a failed switch does not count."""
    uid = gid = None
    for name, args, ret, errno, _ in calls(lines):
        m = _SETID.match(name)
        if not m or errno is not None or ret != "0" or name.startswith("setfs"):
            continue
        ids = [int(a) for a in (x.strip() for x in args.split(",")) if re.fullmatch(r"\d+", a)]
        if not ids or ids[0] == 0:
            continue
        if m.group("kind") == "u":
            uid = ids[0]
        else:
            gid = ids[0]
    return uid, gid


_PORT = re.compile(r"sin6?_port=htons\((?P<port>\d+)\)")
_INET = re.compile(r"sa_family=AF_INET6?\b")


def ports_bound(lines: Iterable[str]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(every TCP/UDP port the app bound, the ports a bind was refused with ``EACCES``), sorted: a
    port below the platform's ``ip_unprivileged_port_start`` bound by a non-root process is refused so."""
    bound: set[int] = set()
    refused: set[int] = set()
    for name, args, _ret, errno, _ in calls(lines):
        if name != "bind" or not _INET.search(args):
            continue
        p = _PORT.search(args)
        if not p or int(p.group("port")) == 0:
            continue
        port = int(p.group("port"))
        if errno is None:
            bound.add(port)
        elif errno == "EACCES":
            refused.add(port)
    return tuple(sorted(bound | refused)), tuple(sorted(refused))


_LOG_PORT = re.compile(r"(?::|\bport\s+)(?P<port>\d{1,5})\b", re.IGNORECASE)
_LOG_DENIED = re.compile(r"permission denied|\(13[:)]", re.IGNORECASE)
_LOG_BIND = re.compile(r"\bbind\b|\blisten|listening socket", re.IGNORECASE)


def ports_refused_in_logs(logs: str) -> tuple[int, ...]:
    """Ports an app says it could not bind (``bind() to 0.0.0.0:80 failed (13: Permission denied)``,
    ``listen tcp :80: bind: permission denied``), where no trace names them."""
    out = set()
    for line in logs.splitlines():
        if _LOG_DENIED.search(line) and _LOG_BIND.search(line):
            out |= {int(m.group("port")) for m in _LOG_PORT.finditer(line) if 0 < int(m.group("port")) < 65536}
    return tuple(sorted(out))


@dataclass(frozen=True)
class CapabilityNeed:
    """A capability a refused call names, and the line that shows it."""

    capability: str
    line: str


def _ioctl_cap(args: str) -> str | None:
    parts = [a.strip() for a in args.split(",")]
    req = parts[1] if len(parts) > 1 else ""
    if req.startswith("SIOCS") or req in ("SIOCADDRT", "SIOCDELRT", "SIOCBRADDBR", "SIOCBRDELBR", "SIOCDARP"):
        return "NET_ADMIN"
    if req.startswith("TUNSET"):
        return "NET_ADMIN"
    return None


def _rule(name: str, args: str, errno: str) -> str | None:
    """The capability a refused call needs, or None (not a capability's refusal)."""
    if name == "socket" and errno == "EPERM":
        if args.startswith("AF_PACKET") or "SOCK_RAW" in args:
            return "NET_RAW"
        return None
    if name == "setsockopt" and errno == "EPERM":
        if any(o in args for o in ("SO_MARK", "SO_BINDTODEVICE", "IP_TRANSPARENT", "SO_DEBUG", "SO_PRIORITY")):
            return "NET_ADMIN"
        return None
    if name == "ioctl" and errno == "EPERM":
        return _ioctl_cap(args)
    if name in ("setpriority", "sched_setscheduler", "sched_setparam", "ioprio_set") and errno in ("EPERM", "EACCES"):
        return "SYS_NICE"
    if name in ("mlock", "mlock2", "mlockall") and errno in ("EPERM", "ENOMEM"):
        return "IPC_LOCK"
    if name == "shmctl" and "SHM_LOCK" in args and errno == "EPERM":
        return "IPC_LOCK"
    if name in ("ptrace", "process_vm_readv") and errno == "EPERM":
        return None if "PTRACE_TRACEME" in args else "SYS_PTRACE"  # TRACEME: already traced (by strace)
    if name in ("setrlimit", "prlimit64") and errno == "EPERM" and "rlim_max" in args:
        return "SYS_RESOURCE"  # raising a hard limit
    if name in ("settimeofday", "clock_settime", "clock_adjtime", "adjtimex") and errno == "EPERM":
        return "SYS_TIME"
    return None


def capabilities_named(lines: Iterable[str]) -> tuple[CapabilityNeed, ...]:
    """The capabilities that refused calls in a trace name, each once with its first line, in order:
    raw and packet sockets (NET_RAW), interface, route and tunnel changes (NET_ADMIN), a higher
    priority or a real-time scheduler (SYS_NICE), locked memory (IPC_LOCK), tracing another process
    (SYS_PTRACE), a raised hard limit (SYS_RESOURCE), the clock (SYS_TIME)."""
    out: dict[str, CapabilityNeed] = {}
    for name, args, _ret, errno, text in calls(lines):
        if errno is None:
            continue
        cap = _rule(name, args, errno)
        if cap is not None and cap not in out:
            out[cap] = CapabilityNeed(cap, text.strip()[:300])
    return tuple(out.values())


#: What apps say when a capability is missing and no trace names the call (netlink route changes are
#: refused inside a message, not as a call's errno).
_LOG_CAPS = (
    (re.compile(r"RTNETLINK answers: Operation not permitted", re.IGNORECASE), "NET_ADMIN"),
    (re.compile(r"SIOCS\w+: Operation not permitted"), "NET_ADMIN"),
    (re.compile(r"TUNSETIFF\b.*(?:Operation not permitted|EPERM)", re.IGNORECASE), "NET_ADMIN"),
    (re.compile(r"ping: permission denied \(are you root\?\)|icmp open socket: Operation not permitted"), "NET_RAW"),
    (re.compile(r"mlockall\b.*(?:Operation not permitted|Cannot allocate memory)", re.IGNORECASE), "IPC_LOCK"),
)


def capabilities_in_logs(logs: str) -> tuple[CapabilityNeed, ...]:
    """The capabilities an app's own words name (``RTNETLINK answers: Operation not permitted``)."""
    out: dict[str, CapabilityNeed] = {}
    for line in logs.splitlines():
        for pattern, cap in _LOG_CAPS:
            if cap not in out and pattern.search(line):
                out[cap] = CapabilityNeed(cap, line.strip()[:300])
    return tuple(out.values())
