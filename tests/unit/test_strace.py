"""The strace parser on real lines (strace 6.1 -f -y against a read-only filesystem) and crafted ones."""

from pathlib import Path

import pytest

from ecs5probe.core.strace import (
    CWD_SYSCALLS,
    ID_SYSCALLS,
    PRIVILEGE_SYSCALLS,
    PROC_SYSCALLS,
    SYSCALLS,
    TRACE_SET,
    StraceParser,
    parse_trace,
    unnamed_writes,
)
from ecs5probe.core.tracefacts import dropped_to, made_program
from ecs5probe.runtime.bundle import effective_argv, parse_ldd, seccomp_bpf, traced_argv

REAL = (Path(__file__).parent / "data" / "strace-rofs.txt").read_text().splitlines()


def test_every_real_line_parses_to_its_syscall_and_path() -> None:
    got = {(w.op, w.path) for w in parse_trace(REAL)}
    assert got == {
        ("mkdir", "/tmp/rofs/newdir"),
        ("bind", "/tmp/rofs/sock"),
        ("openat", '/tmp/rofs/thread"q\n'),
        ("chmod", "/tmp/rofs"),
        ("utimensat", "/tmp/rofs"),
        ("link", "/tmp/rofs/l"),
        ("symlink", "/tmp/rofs/s"),
        ("rename", "/tmp/rofs/b"),
        ("rmdir", "/tmp/rofs/d"),
        ("unlink", "/tmp/rofs/f"),
        ("mknodat", "/tmp/rofs/fifo"),
        ("chown", "/tmp/rofs"),
        ("setxattr", "/tmp/rofs"),
        ("openat", "/tmp/rofs/tmpia7m2e7s"),
        ("mkdirat", "/tmp/rofs/sub"),
    }
    assert all(w.errno == "EROFS" and w.source == "strace" for w in parse_trace(REAL))


def test_threads_deduplicated() -> None:
    threads = [line for line in REAL if "thread" in line]
    assert len(threads) == 3 and len(parse_trace(threads)) == 1


@pytest.mark.parametrize(
    ("line", "op", "path"),
    [
        (
            '12 open("/var/log/app.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = -1 EROFS (Read-only file system)',
            "open",
            "/var/log/app.log",
        ),
        ('12 creat("/x/y", 0644) = -1 EROFS (Read-only file system)', "creat", "/x/y"),
        (
            '12 openat2(AT_FDCWD</srv>, "data/x", {flags=O_WRONLY|O_CREAT, mode=0600}, 24) = -1 EROFS (Read-only file system)',
            "openat2",
            "/srv/data/x",
        ),
        ('12 unlinkat(AT_FDCWD</app>, "tmp/pid", 0) = -1 EROFS (Read-only file system)', "unlinkat", "/app/tmp/pid"),
        (
            '12 renameat2(AT_FDCWD</d>, "a", 5</var/lib/x>, "b", RENAME_NOREPLACE) = -1 EROFS (Read-only file system)',
            "renameat2",
            "/var/lib/x/b",
        ),
        (
            '12 linkat(AT_FDCWD</>, "/etc/a", AT_FDCWD</run>, "lk", 0) = -1 EROFS (Read-only file system)',
            "linkat",
            "/run/lk",
        ),
        (
            '12 symlinkat("/a", 4</run/app>, "current") = -1 EROFS (Read-only file system)',
            "symlinkat",
            "/run/app/current",
        ),
        ('12 truncate("/data/db", 0) = -1 EROFS (Read-only file system)', "truncate", "/data/db"),
        ("12 ftruncate(3</data/db>, 0) = -1 EROFS (Read-only file system)", "ftruncate", "/data/db"),
        ('12 fchmodat(AT_FDCWD</>, "/data", 0700) = -1 EROFS (Read-only file system)', "fchmodat", "/data"),
        ('12 fchownat(AT_FDCWD</w>, "f", 0, 0, 0) = -1 EPERM (Operation not permitted)', "fchownat", "/w/f"),
        (
            "12 utimensat(3</var/cache/x>, NULL, NULL, 0) = -1 EROFS (Read-only file system)",
            "utimensat",
            "/var/cache/x",
        ),
        ('12 lsetxattr("/d", "user.a", "1", 1, 0) = -1 EROFS (Read-only file system)', "lsetxattr", "/d"),
        ('12 mkdir("/home/app/.cache", 0700) = -1 EACCES (Permission denied)', "mkdir", "/home/app/.cache"),
        ('[pid    12] mkdir("/a/b", 0700) = -1 EROFS (Read-only file system)', "mkdir", "/a/b"),
        ('mkdir("/no/pid", 0700) = -1 EROFS (Read-only file system)', "mkdir", "/no/pid"),
        (
            '12 openat(AT_FDCWD</>, "/x\\303\\251\\tz", O_WRONLY|O_CREAT, 0600) = -1 EROFS (Read-only file system)',
            "openat",
            "/xé\tz",
        ),
    ],
)
def test_crafted_lines(line: str, op: str, path: str) -> None:
    w = StraceParser().feed(line)
    assert w is not None and (w.op, w.path) == (op, path)


@pytest.mark.parametrize(
    "line",
    [
        '12 openat(AT_FDCWD</>, "/etc/passwd", O_RDONLY|O_CLOEXEC) = -1 EROFS (Read-only file system)',
        '12 openat(AT_FDCWD</>, "/x", O_WRONLY, 0600) = -1 ENOENT (No such file or directory)',
        '12 unlink("/run/app.sock") = -1 ENOENT (No such file or directory)',
        '12 mkdir("/tmp/ok", 0700) = 0',
        '12 bind(3<socket:[1]>, {sa_family=AF_UNIX, sun_path=@"abstract"}, 11) = -1 EROFS (Read-only file system)',
        '12 bind(3<socket:[1]>, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("0.0.0.0")}, 16) = -1 EACCES (Permission denied)',
        '12 read(3</etc/x>, "", 4096) = 0',
        "12 +++ exited with 0 +++",
        "garbage",
    ],
)
def test_lines_that_are_not_refused_writes(line: str) -> None:
    assert StraceParser().feed(line) is None


def test_unfinished_and_resumed_join_per_pid() -> None:
    lines = [
        '11 openat(AT_FDCWD</srv>, "out/a.log", O_WRONLY|O_CREAT|O_TRUNC, 0666 <unfinished ...>',
        '12 mkdir("/run/x", 0700 <unfinished ...>',
        "11 <... openat resumed>) = -1 EROFS (Read-only file system)",
        "12 <... mkdir resumed>) = -1 EROFS (Read-only file system)",
        "13 <... unlink resumed>) = -1 EROFS (Read-only file system)",  # never started: ignored
    ]
    assert [(w.op, w.path) for w in parse_trace(lines)] == [("openat", "/srv/out/a.log"), ("mkdir", "/run/x")]


def test_relative_paths_use_the_cwd_learnt_from_the_trace() -> None:
    lines = [
        '10 openat(AT_FDCWD</var/lib/redis>, "temp-10.rdb", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 7</var/lib/redis/temp-10.rdb>',
        '10 rename("temp-10.rdb", "dump.rdb") = 0',
        '11 chdir("/srv/app") = 0',
        '11 unlink("cache.tmp") = 0',
        "12 fchdir(4</data>) = 0",
        '12 mkdir("sub", 0755) = 0',
    ]
    paths = [w.path for w in parse_trace(lines, include_success=True)]
    assert paths == ["/var/lib/redis/temp-10.rdb", "/var/lib/redis/dump.rdb", "/srv/app/cache.tmp", "/data/sub"]


def test_successes_only_when_asked() -> None:
    line = '7 openat(AT_FDCWD</>, "/run/app.pid", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</run/app.pid>'
    assert parse_trace([line]) == []
    (w,) = parse_trace([line], include_success=True)
    assert w.path == "/run/app.pid" and w.errno is None


def test_trace_set_lists_every_syscall_optionally() -> None:
    names = {n.lstrip("?") for n in TRACE_SET.split(",")}
    assert set(SYSCALLS) | set(CWD_SYSCALLS) | set(PROC_SYSCALLS) | set(ID_SYSCALLS) | set(PRIVILEGE_SYSCALLS) == names
    assert all(n.startswith("?") for n in TRACE_SET.split(","))


def test_unnamed_writes_counts_successful_writes_strace_could_not_name() -> None:
    lines = [
        '138   openat(AT_FDCWD</var/spool/postfix>, "pid/master.pid", O_RDWR|O_CREAT|O_EXCL, 0644) = 8</var/spool/postfix/pid/master.pid>',
        "138   openat(AT_FDCWD, 0x560b9cb385a0, O_RDWR|O_CREAT|O_EXCL, 0644) = 9",
        "138   openat(AT_FDCWD, 0x560b9cb385a0, O_RDONLY) = 10",  # a read: not a write
        "138   openat(AT_FDCWD, 0x560b9cb385a0, O_RDWR|O_CREAT, 0644) = -1 EROFS (Read-only file system)",
        "138   bind(15, 0x7ffc2f41aba0, 110)     = 0",  # a socket strace could not read: not counted
        "140   ftruncate(7, 0) = 0",  # an fd strace could not name
    ]
    assert unnamed_writes(lines) == 2
    assert unnamed_writes(lines[:1]) == 0


def test_bundle_helpers() -> None:
    ldd = """\tlinux-vdso.so.1 (0x00007ffd)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f1)
\tlibunwind.so.8 => /lib/x86_64-linux-gnu/libunwind.so.8 (0x00007f2)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f3)"""
    assert parse_ldd(ldd) == (
        ["/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libunwind.so.8"],
        "/lib64/ld-linux-x86-64.so.2",
    )
    argv = traced_argv(
        ["nginx", "-g", "daemon off;"], "/.ecs5probe/out/1.trace", include_success=False, syscalls=TRACE_SET
    )
    assert argv[:4] == ["/.ecs5probe/ld.so", "--library-path", "/.ecs5probe/lib", "/.ecs5probe/strace"]
    assert argv[-4:] == ["--", "nginx", "-g", "daemon off;"]
    assert "status=failed" in argv and "status=failed" not in traced_argv(["x"], "/o", include_success=True)
    assert "--seccomp-bpf" not in argv
    assert traced_argv(["x"], "/o", include_success=True, seccomp=True)[4] == "--seccomp-bpf"
    assert effective_argv(("/ep",), ("c",), None, None) == ["/ep", "c"]
    assert effective_argv(("/ep",), ("c",), None, ("d",)) == ["/ep", "d"]
    assert effective_argv(("/ep",), ("c",), ("/new",), None) == ["/new"]


@pytest.mark.parametrize(
    "tag, has",
    [
        ("ecs5probe/strace-bundle:6.1-x86_64-cf1599489c52", True),
        ("ecs5probe/strace-bundle:5.3-x86_64-0123456789ab", True),
        ("ecs5probe/strace-bundle:5.10-aarch64-0123456789ab", True),
        ("ecs5probe/strace-bundle:5.2-x86_64-0123456789ab", False),
        ("ecs5probe/strace-bundle:4.26-x86_64-0123456789ab", False),
        ("ecs5probe/strace-bundle:unknown-x86_64-0123456789ab", False),
    ],
)
def test_seccomp_bpf_from_strace_5_3(tag: str, has: bool) -> None:
    assert seccomp_bpf(tag) is has


@pytest.mark.parametrize(
    "line, path",
    [
        (
            '12 openat(AT_FDCWD</>, "/run/haproxy/admin.sock.1.tmp", O_WRONLY|O_CREAT, 0600) = -1 ENOENT (No such file or '
            "directory)",
            "/run/haproxy/admin.sock.1.tmp",
        ),
        ('7 mkdir("/var/lock/apache2", 0755) = -1 ENOENT (No such file or directory)', "/var/lock/apache2"),
        (
            '7 bind(3<socket:[9]>, {sa_family=AF_UNIX, sun_path="/run/x/s.sock"}, 110) = -1 ENOTDIR (Not a directory)',
            "/run/x/s.sock",
        ),
    ],
)
def test_a_create_that_misses_its_directory_is_evidence(line: str, path: str) -> None:
    """ENOENT/ENOTDIR count only for calls that create an entry: its directory is missing."""
    w = StraceParser().feed(line)
    assert w is not None and w.path == path and w.errno in ("ENOENT", "ENOTDIR")


def test_dropped_to_reads_the_last_switch_to_a_non_root_user() -> None:
    lines = [
        "5 setgid(0) = 0",
        "5 setgroups(1, [101]) = 0",
        "5 setresgid(101, 101, 101) = 0",
        "5 setresuid(100, 100, 100) = 0",
        "6 setuid(7) = -1 EPERM (Operation not permitted)",
    ]
    assert dropped_to(lines) == (100, 101)
    assert dropped_to(["5 setuid(0) = 0"]) == (None, None)


def test_relative_paths_of_a_process_that_never_changed_directory_use_the_workdir() -> None:
    """A Rails-style app in WORKDIR /app removes tmp/pids/server.pid: that is /app/tmp/pids, not /tmp."""
    [w] = parse_trace(['19    unlink("tmp/pids/server.pid")     = 0'], include_success=True, cwd="/app")
    assert w.path == "/app/tmp/pids/server.pid"


def _paths(lines: list[str], include_success: bool = False) -> list[str | None]:
    parser = StraceParser(include_success, cwd="/")
    return [w.path for w in (parser.feed(ln) for ln in lines) if w is not None]


def test_a_directory_fd_strace_cannot_name_leaves_the_path_unknown_not_in_the_root() -> None:
    # Real lines (Debian's varnish): the child works in a directory fd that strace could not name
    # (the process dropped privileges); "/_.Stat..." made it look like a write into /.
    refused = (
        '54    openat(14, "_.Stat.12d23ff355bb911a", O_RDWR|O_CREAT|O_EXCL, 0640) = -1 EROFS (Read-only file system)'
    )
    written = '54    openat(14, "_.Stat.12d23ff355bb911a", O_RDWR|O_CREAT|O_EXCL, 0640) = 5'
    assert _paths([refused]) == [None]  # refused: still evidence, without a path
    assert _paths([written], include_success=True) == []  # a success without a path teaches nothing
    named = '54    openat(14</var/lib/varnish/varnishd>, "_.Stat.1", O_RDWR|O_CREAT|O_EXCL, 0640) = 5'
    assert _paths([named], include_success=True) == ["/var/lib/varnish/varnishd/_.Stat.1"]


def test_a_chdir_strace_could_not_read_makes_relative_paths_unknown() -> None:
    lines = [
        "10    chdir(0x7f825ce26e60)             = 0",
        '10    mkdir("vcl_boot.1", 0755) = -1 EROFS (Read-only file system)',
        '10    mkdir("/srv/abs", 0755) = -1 EROFS (Read-only file system)',
        '10    chdir("/var/tmp") = 0',
        '10    mkdir("rel", 0755) = -1 EROFS (Read-only file system)',
    ]
    assert _paths(lines) == [None, "/srv/abs", "/var/tmp/rel"]


def test_a_child_starts_in_its_parents_directory_and_moves_alone() -> None:
    lines = [
        '10    chdir("/var/lib/varnish/varnishd") = 0',
        "10    clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f0) = 19",
        '19    mkdir("vcl_boot.1", 0755) = -1 EROFS (Read-only file system)',
        '19    chdir("vcl_boot.1") = 0',
        '19    unlink("vgc.so") = -1 EROFS (Read-only file system)',
        '10    unlink("x") = -1 EROFS (Read-only file system)',
        "10    clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>",
        "10    <... clone resumed>, child_tidptr=0x7f0) = 21",
        '21    unlink("y") = -1 EROFS (Read-only file system)',
    ]
    assert _paths(lines) == [
        "/var/lib/varnish/varnishd/vcl_boot.1",
        "/var/lib/varnish/varnishd/vcl_boot.1/vgc.so",
        "/var/lib/varnish/varnishd/x",
        "/var/lib/varnish/varnishd/y",
    ]


def test_threads_share_their_directory() -> None:
    lines = [
        "10    clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, "
        "child_tid=0x7f, parent_tid=0x7f, exit_signal=0, stack=0x7f, stack_size=0x7ff00, tls=0x7f} "
        "=> {parent_tid=[20]}, 88) = 20",
        '20    chdir("/tmp") = 0',
        '10    unlink("y") = -1 EROFS (Read-only file system)',
    ]
    assert _paths(lines) == ["/tmp/y"]


def test_a_process_of_unknown_parentage_is_in_the_workdir_only_until_someone_moves() -> None:
    before = ['33    unlink("z") = -1 EROFS (Read-only file system)']
    after = ['10    chdir("/srv") = 0', '34    unlink("z") = -1 EROFS (Read-only file system)']
    assert _paths(before) == ["/z"]
    assert _paths(after) == [None]


def test_a_child_named_by_strace_names_its_parents_directory_until_either_moves() -> None:
    # Debian's varnish: the manager's chdir is unreadable (it dropped privileges); a child strace can
    # read shows where it works, so where the manager works, and so where the later children start.
    lines = [
        "10    chdir(0x7f825ce26e60)             = 0",
        "10    clone(child_stack=NULL, flags=SIGCHLD) = 17",
        '17    openat(AT_FDCWD</var/lib/varnish/varnishd>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 5',
        "10    clone(child_stack=NULL, flags=SIGCHLD) = 19",
        '19    chdir("vcl_boot.1") = 0',
        "19    clone(child_stack=NULL, flags=SIGCHLD) = 44",
        '44    openat(AT_FDCWD, "vgc.so", O_RDWR|O_CREAT|O_TRUNC, 0666) = -1 EROFS (Read-only file system)',
        "10    chdir(0x7f825ce26e70)             = 0",
        "10    clone(child_stack=NULL, flags=SIGCHLD) = 50",
        '50    unlink("x") = -1 EROFS (Read-only file system)',
    ]
    assert _paths(lines) == ["/var/lib/varnish/varnishd/vcl_boot.1/vgc.so", None]
    moved_since = [
        "10    chdir(0x7f825ce26e60)             = 0",
        "10    clone(child_stack=NULL, flags=SIGCHLD) = 17",
        "10    chdir(0x7f825ce26e70)             = 0",  # the parent moved after the fork: not taught
        '17    openat(AT_FDCWD</srv/a>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 5',
        '10    unlink("x") = -1 EROFS (Read-only file system)',
    ]
    assert _paths(moved_since) == [None]


@pytest.mark.parametrize(
    ("line", "program"),
    [
        ('44 openat(AT_FDCWD</w/vcl_boot.1>, "vgc.so", O_RDWR|O_CREAT|O_TRUNC, 0666) = 3</w/vcl_boot.1/vgc.so>', True),
        ('44 chmod("/w/run.sh", 0750) = 0', True),
        ('44 fchmodat(AT_FDCWD</w>, "tool", 0755, 0) = 0', True),
        ('44 chmod("/w/data", 0640) = 0', False),
        ('44 openat(AT_FDCWD</w>, "libx.so.1", O_WRONLY|O_CREAT, 0644) = 3</w/libx.so.1>', True),
        ('44 openat(AT_FDCWD</w>, "notes.sock", O_WRONLY|O_CREAT, 0644) = 3</w/notes.sock>', False),
        ('44 openat(AT_FDCWD</w>, "vgc.so", O_WRONLY|O_CREAT, 0644) = -1 EROFS (Read-only file system)', False),
    ],
)
def test_made_program(line: str, program: bool) -> None:
    w = StraceParser(include_success=True).feed(line)
    assert w is not None and made_program(w) is program
