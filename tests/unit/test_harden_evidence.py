"""Privilege evidence from real strace lines: the ports an app binds, the capabilities its refused
calls name, the user any process of its tree switches to."""

from __future__ import annotations

from pathlib import Path

from ecs5probe.core.tracefacts import (
    capabilities_in_logs,
    capabilities_named,
    dropped_to,
    ports_bound,
    ports_refused_in_logs,
)

DATA = Path(__file__).parent.parent / "data" / "harden"
#: strace 6.1 -f -y -e status=failed: python and busybox as nobody with no capability (see the file).
REFUSED = (DATA / "refused-as-nobody.trace").read_text().splitlines()


def test_refused_calls_name_their_capabilities_each_once_with_the_line() -> None:
    named = {n.capability: n.line for n in capabilities_named(REFUSED)}
    assert set(named) == {"NET_RAW", "SYS_NICE", "IPC_LOCK", "SYS_RESOURCE", "SYS_PTRACE", "NET_ADMIN"}
    assert "socket(AF_INET, SOCK_RAW" in named["NET_RAW"]
    assert "SIOCSIFMTU" in named["NET_ADMIN"] and "mlockall" in named["IPC_LOCK"]
    assert "rlim_max" in named["SYS_RESOURCE"] and "PTRACE_ATTACH" in named["SYS_PTRACE"]


def test_refusals_that_are_not_a_capabilitys_name_none() -> None:
    lines = [
        "7 ioctl(0</dev/null>, TCGETS, 0x7ffecf2089f0) = -1 ENOTTY (Inappropriate ioctl for device)",
        "7 ptrace(PTRACE_TRACEME) = -1 EPERM (Operation not permitted)",  # already traced (strace)
        "7 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = -1 EPERM (Operation not permitted)",
        "7 prlimit64(0, RLIMIT_NOFILE, NULL, {rlim_cur=1024, rlim_max=4096}) = 0",
        "7 socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = 3<socket:[1]>",  # allowed: no evidence
    ]
    assert capabilities_named(lines) == ()


def test_ports_bound_and_refused() -> None:
    assert ports_bound(REFUSED) == ((53, 80), (53, 80))
    lines = [
        '9 bind(6<TCP:[1]>, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("0.0.0.0")}, 16) = 0',
        '9 bind(7<UDP:[2]>, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("0.0.0.0")}, 16) = 0',
        '9 bind(8<UNIX:[3]>, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0',
        '10 bind(6<TCP:[4]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("0.0.0.0")} <unfinished ...>',
        "11 setuid(33) = 0",
        "10 <... bind resumed>, 16) = -1 EACCES (Permission denied)",
    ]
    assert ports_bound(lines) == ((443, 8080), (443,))


def test_ports_refused_in_what_apps_say() -> None:
    assert ports_refused_in_logs("nginx: [emerg] bind() to 0.0.0.0:80 failed (13: Permission denied)") == (80,)
    assert ports_refused_in_logs("Error: listen tcp :443: bind: permission denied") == (443,)
    assert ports_refused_in_logs("dnsmasq: failed to create listening socket for port 53: Permission denied") == (53,)
    assert ports_refused_in_logs('open() "/var/log/nginx/error.log" failed (13: Permission denied)') == ()


def test_capabilities_in_logs() -> None:
    said = "RTNETLINK answers: Operation not permitted\nping: permission denied (are you root?)"
    assert [n.capability for n in capabilities_in_logs(said)] == ["NET_ADMIN", "NET_RAW"]


def test_a_user_switch_in_any_child_is_found_even_split_by_another_process() -> None:
    """apache2: the parent stays root; each worker it forks switches (setgid, setgroups, setuid)."""
    lines = [
        "1 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD) = 14",
        "14 setgid(33 <unfinished ...>",
        '15 openat(AT_FDCWD</>, "/x", O_RDONLY) = 3</x>',
        "14 <... setgid resumed>) = 0",
        "14 setgroups(1, [33]) = 0",
        "14 setuid(33) = 0",
        "16 setresuid(-1, 104, -1) = 0",
    ]
    assert dropped_to(lines) == (104, 33)
    assert dropped_to(["5 setresuid(-1, -1, -1) = 0", "5 setuid(0) = 0"]) == (None, None)
