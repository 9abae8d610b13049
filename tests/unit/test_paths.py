"""Path rules, with hypothesis properties for collapsing."""

import posixpath

from hypothesis import given
from hypothesis import strategies as st

from ecs5probe.core.paths import FORBIDDEN, collapse, is_ancestor_or_self, leaves, needs_nothing, normalise, resolve

segment = st.sampled_from(["a", "b", "c", "var", "lib", "tmp", "x.y"])
abs_path = st.lists(segment, min_size=0, max_size=5).map(lambda parts: "/" + "/".join(parts))


def test_normalise() -> None:
    assert normalise("/var//run/../lib/") == "/var/lib"
    assert normalise("data/x", "/srv") == "/srv/data/x"
    assert normalise("//x") == "/x"
    assert normalise("x", "") == "/x"


def test_ancestry_is_by_component_not_prefix() -> None:
    assert is_ancestor_or_self("/var/lib", "/var/lib/nginx")
    assert is_ancestor_or_self("/var/lib", "/var/lib")
    assert not is_ancestor_or_self("/var/li", "/var/lib")
    assert is_ancestor_or_self("/", "/anything")


@given(st.lists(abs_path, max_size=20))
def test_collapse_covers_every_path(paths: list[str]) -> None:
    out = collapse(paths)
    for p in paths:
        assert any(is_ancestor_or_self(c, p) for c in out)


@given(st.lists(abs_path, max_size=20))
def test_collapse_has_no_nested_results_and_invents_nothing(paths: list[str]) -> None:
    out = collapse(paths)
    assert set(out) <= set(paths)
    for a in out:
        for b in out:
            assert a == b or not is_ancestor_or_self(a, b)


@given(st.lists(abs_path, max_size=20))
def test_leaves_have_no_descendants(paths: list[str]) -> None:
    out = leaves(paths)
    for p in out:
        assert not any(q != p and is_ancestor_or_self(p, q) for q in paths)
    for p in set(paths) - set(out):
        assert any(q != p and is_ancestor_or_self(p, q) for q in paths)


def test_resolve_symlinks() -> None:
    links = {"/var/run": "/run", "/run/lock": "../tmp/lock", "/loop": "/loop"}
    assert resolve("/var/run/app.pid", links.get) == "/run/app.pid"
    assert resolve("/run/lock/x", links.get) == "/tmp/lock/x"
    assert resolve("/srv/data", links.get) == "/srv/data"
    assert resolve("/loop/x", links.get).startswith("/loop")  # terminates on a loop


def test_needs_nothing() -> None:
    assert needs_nothing("/dev/shm/x")
    assert needs_nothing("/etc/hosts")
    assert not needs_nothing("/etc/passwd")
    assert not needs_nothing("/device")


def test_forbidden_contains_the_broad_paths() -> None:
    assert {"/", "/etc", "/usr", "/var", "/var/lib", "/home"} <= FORBIDDEN
    assert all(posixpath.isabs(p) for p in FORBIDDEN)
