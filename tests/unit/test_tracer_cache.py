"""The ptrace self-test is remembered per daemon, kernel, security options and bundle."""

from __future__ import annotations

from ecs5probe.runtime import selftests


def test_a_passed_self_test_is_remembered_by_its_key(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert selftests.passed() == set()
    selftests.remember("daemon-a|6.1|name=seccomp|bundle:1")
    selftests.remember("daemon-b|6.1|name=seccomp|bundle:1")
    assert selftests.passed() == {"daemon-a|6.1|name=seccomp|bundle:1", "daemon-b|6.1|name=seccomp|bundle:1"}
    (tmp_path / "ecs5probe" / "tracer-self-tests.json").write_text("{not json")
    assert selftests.passed() == set()  # a broken cache only costs the self-test


def test_an_unwritable_cache_is_not_an_error(monkeypatch, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the directory would go
    selftests.remember("k")
    assert selftests.passed() == set()
