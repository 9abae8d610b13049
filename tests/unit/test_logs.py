"""Log parsers: one real message per runtime format, and lines that must not match."""

import pytest

from ecs5probe.core.logs import PATTERNS, parse_line, parse_logs

# (format, real log line, expected path, expected errno)
REAL = [
    (
        "nginx",
        '2026/11/29 15:42:18 [emerg] 1#1: mkdir() "/var/lib/nginx/body" failed (30: Read-only file system)',
        "/var/lib/nginx/body",
        "EROFS",
    ),
    (
        "nginx",
        'nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed (30: Read-only file system)',
        "/var/log/nginx/error.log",
        "EROFS",
    ),
    (
        "nginx-eacces",
        '2026/11/29 10:00:00 [emerg] 7#7: mkdir() "/var/cache/nginx/client_temp" failed (13: Permission denied)',
        "/var/cache/nginx/client_temp",
        "EACCES",
    ),
    (
        "apache",
        "(30)Read-only file system: AH00091: apache2: could not open error log file /var/log/apache2/error.log.",
        "/var/log/apache2/error.log",
        "EROFS",
    ),
    (
        "postgresql",
        'FATAL:  could not create lock file "/var/run/postgresql/.s.PGSQL.5432.lock": Read-only file system',
        "/var/run/postgresql/.s.PGSQL.5432.lock",
        "EROFS",
    ),
    (
        "postgresql",
        '2026-11-29 10:00:00.000 UTC [1] FATAL:  could not open file "postmaster.pid": Read-only file system',
        "/var/lib/postgresql/data/postmaster.pid",
        "EROFS",
    ),
    (
        "redis-rdb",
        "1:M 29 Nov 2026 10:00:00.000 # Failed opening the temp RDB file temp-1.rdb (in server root dir /data) "
        "for saving: Read-only file system",
        "/data/temp-1.rdb",
        "EROFS",
    ),
    (
        "redis",
        "Can't open the append-only file /data/appendonly.aof: Read-only file system",
        "/data/appendonly.aof",
        "EROFS",
    ),
    ("python", "OSError: [Errno 30] Read-only file system: '/app/cache/x.json'", "/app/cache/x.json", "EROFS"),
    ("python-eacces", "PermissionError: [Errno 13] Permission denied: '/data/x'", "/data/x", "EACCES"),
    (
        "python-tempfile",
        "FileNotFoundError: [Errno 2] No usable temporary directory found in ['/tmp', '/var/tmp', '/usr/tmp', '/']",
        "/tmp",
        "ENOENT",
    ),
    (
        "node",
        "Error: EROFS: read-only file system, open '/usr/src/app/logs/app.log'",
        "/usr/src/app/logs/app.log",
        "EROFS",
    ),
    (
        "node",
        "npm ERR! Error: EROFS: read-only file system, mkdir '/root/.npm/_cacache'",
        "/root/.npm/_cacache",
        "EROFS",
    ),
    ("node-eacces", "Error: EACCES: permission denied, mkdir '/app/.cache'", "/app/.cache", "EACCES"),
    (
        "java-io",
        "java.io.FileNotFoundException: /opt/app/logs/app.log (Read-only file system)",
        "/opt/app/logs/app.log",
        "EROFS",
    ),
    (
        "java-nio",
        "java.nio.file.FileSystemException: /tmp/hsperfdata_root/1: Read-only file system",
        "/tmp/hsperfdata_root/1",
        "EROFS",
    ),
    ("java-tempfile", 'Exception in thread "main" java.io.IOException: Read-only file system', "/tmp", "EROFS"),
    (
        "ruby",
        "Errno::EROFS: Read-only file system @ rb_sysopen - /app/tmp/pids/server.pid",
        "/app/tmp/pids/server.pid",
        "EROFS",
    ),
    (
        "dotnet",
        "Unhandled exception. System.IO.IOException: Read-only file system : '/tmp/.dotnet/shm'",
        "/tmp/.dotnet/shm",
        "EROFS",
    ),
    ("go", "panic: open /data/bolt.db: read-only file system", "/data/bolt.db", "EROFS"),
    ("go", 'level=fatal msg="mkdir /var/lib/app/wal: read-only file system"', "/var/lib/app/wal", "EROFS"),
    ("coreutils", "touch: cannot touch '/var/run/app.pid': Read-only file system", "/var/run/app.pid", "EROFS"),
    ("coreutils", "mkdir: cannot create directory ‘/var/lib/foo’: Read-only file system", "/var/lib/foo", "EROFS"),
    (
        "coreutils-mktemp",
        "mktemp: failed to create file via template '/tmp/tmp.XXXXXXXXXX': Read-only file system",
        "/tmp/tmp.XXXXXXXXXX",
        "EROFS",
    ),
    ("busybox-mktemp", "mktemp: (null): Read-only file system", "/tmp", "EROFS"),
    ("shell-redirect", "sh: can't create /var/log/app/app.log: Read-only file system", "/var/log/app/app.log", "EROFS"),
    (
        "coreutils-mktemp-enoent",
        "mktemp: failed to create directory via template '/var/lock/apache2.XXXXXXXXXX': No such file or directory",
        "/var/lock/apache2.XXXXXXXXXX",
        "ENOENT",
    ),
    (
        "haproxy-enoent",
        "[ALERT]    (6) : Binding [/etc/haproxy/haproxy.cfg:5] for frontend GLOBAL: cannot bind UNIX "
        "socket (No such file or directory) [/run/haproxy/admin.sock]",
        "/run/haproxy/admin.sock",
        "ENOENT",
    ),
    ("shell-enoent", "sh: can't create /run/app15/ctl: nonexistent directory", "/run/app15/ctl", "ENOENT"),
    ("shell-redirect", "/bin/sh: 1: cannot create /run/x.pid: Read-only file system", "/run/x.pid", "EROFS"),
    ("shell-redirect-eacces", "sh: can't create /home/app/data/x: Permission denied", "/home/app/data/x", "EACCES"),
    ("busybox", "mkdir: can't create directory '/var/lib/foo': Read-only file system", "/var/lib/foo", "EROFS"),
    ("busybox", "cp: can't create '/tmp/busybox': Read-only file system", "/tmp/busybox", "EROFS"),
    ("rust", "Error: Read-only file system (os error 30)", None, "EROFS"),
    ("perror", "touch: /var/run/x.pid: Read-only file system", "/var/run/x.pid", "EROFS"),
    ("perror", "bash: /etc/motd: Read-only file system", "/etc/motd", "EROFS"),
    ("perror-eacces", "touch: /var/cache/app/x: Permission denied", "/var/cache/app/x", "EACCES"),
    (
        "generic",
        "thread 'main' panicked: Os { code: 30, kind: ReadOnlyFilesystem, message: \"Read-only file system\" }",
        None,
        "EROFS",
    ),
]


@pytest.mark.parametrize(("fmt", "line", "path", "errno"), REAL, ids=[f"{r[0]}-{i}" for i, r in enumerate(REAL)])
def test_real_messages(fmt: str, line: str, path: str | None, errno: str) -> None:
    w = parse_line(line, cwd="/var/lib/postgresql/data")
    assert w is not None
    assert w.pattern == fmt
    assert w.path == path
    assert w.errno == errno
    assert w.source == "log"


def test_every_pattern_has_a_real_message() -> None:
    assert {p.name for p in PATTERNS} <= {r[0] for r in REAL}


def test_at_least_thirteen_runtime_formats() -> None:
    runtimes = {r[0].split("-")[0] for r in REAL}
    assert len(runtimes) >= 13


@pytest.mark.parametrize(
    "line",
    [
        "",
        "   ",
        "2026/11/29 [notice] 1#1: start worker processes",
        "Listening on /run/app.sock",
        "INFO wrote /var/lib/app/state",
        "GET /health HTTP/1.1 200",
        "mounting /tmp read-write",
    ],
)
def test_lines_without_a_failed_write(line: str) -> None:
    assert parse_line(line) is None


def test_relative_path_resolved_against_cwd() -> None:
    w = parse_line("OSError: [Errno 30] Read-only file system: 'data/out.txt'", cwd="/srv/app")
    assert w is not None and w.path == "/srv/app/data/out.txt"


def test_tmpdir_from_environment() -> None:
    w = parse_line("mktemp: (null): Read-only file system", tmpdir="/scratch")
    assert w is not None and w.path == "/scratch"


def test_parse_logs_deduplicates_and_keeps_order() -> None:
    text = "\n".join(
        [
            "sh: can't create /b/x: Read-only file system",
            "all good",
            "sh: can't create /a/y: Read-only file system",
            "sh: can't create /b/x: Read-only file system",
        ]
    )
    assert [w.path for w in parse_logs(text)] == ["/b/x", "/a/y"]


def test_relative_path_without_a_known_directory_stays_unresolved() -> None:
    """A daemon may have changed directory: its relative path is never taken as written in /."""
    w = parse_line("OSError: [Errno 30] Read-only file system: 'state.db'", cwd=None)
    assert w is not None and w.path is None and "state.db" in w.line
    w = parse_line("OSError: [Errno 30] Read-only file system: 'state.db'", cwd="/srv/app")
    assert w is not None and w.path == "/srv/app/state.db"
