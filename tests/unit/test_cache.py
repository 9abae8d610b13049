"""The result cache over a fake runtime: hits, a miss on every key component, only verified results."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import replace
from enum import Enum
from pathlib import Path

import pytest

from ecs5probe.app import cache as store
from ecs5probe.app import cachekey, probing
from ecs5probe.core.deployment import Deployment
from ecs5probe.core.harden import Harden
from ecs5probe.core.options import ProbeOptions, Tracer
from ecs5probe.errors import ImageNotFound
from ecs5probe.model import HealthSpec, PlatformName
from ecs5probe.platforms import to_platform
from tests.fakes import HEALTH, FakeApp, FakeRuntime, fs, image

ID = "sha256:" + "a" * 64


def runtime(app: FakeApp | None = None, image_id: str = ID, strace: bool = False) -> FakeRuntime:
    cfg = image(health=HEALTH, id=image_id)
    return FakeRuntime(cfg, fs("/run", "/etc", "/var/lib/app"), app or FakeApp(writes=["/run/app.pid"]), strace=strace)


def probe(rt: FakeRuntime, opts: ProbeOptions, name: str = "app:1"):
    """``probe IMAGE`` as the CLI does it: the image's own deployment, through the cache."""
    (member,) = probing.probe_deployment(rt, Deployment.of_image(name), opts, to_platform(opts.platform)).members
    return member.result


@pytest.fixture
def opts(tmp_path: Path) -> ProbeOptions:
    return ProbeOptions(jobs=1, cache_dir=str(tmp_path / "cache"))


def test_a_hit_returns_the_stored_result_without_starting_a_container(opts: ProbeOptions) -> None:
    rt = runtime()
    first = probe(rt, opts)
    assert first.verified and first.cached is None and rt.specs
    runs = len(rt.specs)
    again = probe(rt, replace(opts, jobs=4))  # how many at once decides nothing
    assert len(rt.specs) == runs, "a hit starts no container"
    assert again.cached is not None and again.cached.version == first_version()
    assert again.mounts == first.mounts and again.findings == first.findings and again.runs == first.runs
    assert replace(again, cached=None, duration_seconds=first.duration_seconds) == first  # JSON keeps ms


def first_version() -> str:
    from ecs5probe.version import __version__

    return __version__


def test_the_same_content_under_another_tag_is_a_hit(opts: ProbeOptions) -> None:
    rt = runtime()
    probe(rt, opts)
    rt.config = replace(rt.config, ref="app:2")  # retagged: the same ID
    runs = len(rt.specs)
    again = probe(rt, opts, "app:2")
    assert len(rt.specs) == runs and again.cached is not None and again.image == "app:2"


def _misses(rt: FakeRuntime, opts: ProbeOptions) -> bool:
    runs = len(rt.specs)
    result = probe(rt, opts)
    return len(rt.specs) > runs and result.cached is None


@pytest.mark.parametrize(
    "change",
    [
        {"health_cmd": "wget -q localhost"},
        {"health": HealthSpec(("CMD", "true"))},
        {"exercises": ("redis-cli save",)},
        {"memory_mib": 512},
        {"user": "1000:1000"},
        {"platform": PlatformName.KUBERNETES},
        {"tracer": Tracer.NO_STRACE},
        {"harden": frozenset({Harden.READ_ONLY_ROOT, Harden.NON_ROOT})},
        {"stop_grace": 9.0},
        {"environment": ("A=1",)},
        {"minimise": False},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_changed_option_misses(opts: ProbeOptions, change: dict[str, object]) -> None:
    rt = runtime()
    probe(rt, opts)
    changed = replace(opts, **change)  # type: ignore[arg-type]
    assert _misses(rt, changed)
    fresh = probe(replace_runtime(rt), replace(changed, cache_dir=None))
    cached = probe(rt, changed)  # stored in turn, and read back whole (a privilege too)
    assert cached.cached is not None
    assert replace(cached, cached=None, duration_seconds=0, image=fresh.image) == replace(fresh, duration_seconds=0)


def replace_runtime(rt: FakeRuntime) -> FakeRuntime:
    return FakeRuntime(rt.config, rt.infos, rt.app, strace=rt.strace)


def test_a_rebuilt_image_under_the_same_tag_misses(opts: ProbeOptions) -> None:
    rt = runtime()
    probe(rt, opts)
    rt.config = replace(rt.config, id="sha256:" + "b" * 64)
    assert _misses(rt, opts)


def test_another_version_misses_and_its_entries_are_not_used(opts: ProbeOptions, monkeypatch, caplog) -> None:
    rt = runtime()
    probe(rt, opts)
    monkeypatch.setattr(cachekey, "__version__", "99.0")
    monkeypatch.setattr(store, "__version__", "99.0")
    assert _misses(rt, opts)
    assert not _misses(rt, opts)


def test_an_entry_of_another_version_under_this_key_is_ignored(opts: ProbeOptions, monkeypatch, caplog) -> None:
    rt = runtime()
    probe(rt, opts)
    monkeypatch.setattr(store, "__version__", "0.0.1")  # as if copied in from an older version's cache
    with caplog.at_level(logging.WARNING):
        assert _misses(rt, opts)
    assert "written by ecs5probe" in caplog.text


def test_strace_available_or_not_is_keyed(opts: ProbeOptions) -> None:
    rt = runtime(strace=False)
    probe(rt, opts)
    rt.strace = True
    assert _misses(rt, opts)


class _Counting(FakeRuntime):
    asked = 0

    def tracer(self) -> tuple[bool, str]:
        self.asked += 1
        return super().tracer()


def test_a_result_made_with_strace_is_used_without_setting_strace_up(opts: ProbeOptions) -> None:
    """The best evidence serves anywhere, and the hit needs no second of strace set-up."""
    rt = _Counting(image(health=HEALTH, id=ID), fs("/run"), FakeApp(writes=["/run/app.pid"]), strace=True)
    probe(rt, opts)
    rt.asked, rt.strace = 0, False
    runs = len(rt.specs)
    assert probe(rt, opts).cached is not None and len(rt.specs) == runs and rt.asked == 0


def test_a_result_made_without_strace_serves_only_where_strace_is_unavailable(opts: ProbeOptions) -> None:
    rt = runtime(strace=False)
    probe(rt, opts)
    assert not _misses(rt, opts)
    rt.strace = True
    assert _misses(rt, opts)  # and stored as made with strace: the next one hits
    assert not _misses(rt, opts)


def test_every_option_is_keyed_but_the_named_few() -> None:
    """A new option changes the key by default: nothing to remember when adding one."""
    base = ProbeOptions()
    key = cachekey.options_material(base)
    assert set(key) == {f.name for f in dataclasses.fields(ProbeOptions)} - cachekey.NOT_KEYED
    for f in dataclasses.fields(ProbeOptions):
        if f.name in cachekey.NOT_KEYED:
            continue
        other = replace(base, **{f.name: _another(getattr(base, f.name))})
        assert cachekey.options_material(other) != key, f.name


def _another(value: object) -> object:
    if isinstance(value, Enum):
        return next(m for m in type(value) if m != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, tuple):
        return (*value, "x")
    return "x"  # None or a string


def test_only_verified_results_are_stored(opts: ProbeOptions) -> None:
    rt = runtime(FakeApp(writes=["/etc/app.conf"]))  # cannot be made to work read-only
    assert not probe(rt, opts).verified
    assert _misses(rt, opts)
    assert not list(store.Store(opts.cache_dir or "").files())


def test_errors_are_not_stored(opts: ProbeOptions) -> None:
    rt = runtime()
    with pytest.raises(ImageNotFound):
        probe(rt, opts, "nope:1")
    assert not list(store.Store(opts.cache_dir or "").files())


def test_no_cache_dir_probes_every_time() -> None:
    rt = runtime()
    probe(rt, ProbeOptions(jobs=1))
    assert _misses(rt, ProbeOptions(jobs=1))


def test_an_image_without_an_id_is_not_cached(opts: ProbeOptions) -> None:
    rt = runtime(image_id="")
    probe(rt, opts)
    assert _misses(rt, opts)


def _only_entry(opts: ProbeOptions) -> Path:
    (path,) = store.Store(opts.cache_dir or "").files()
    return path


def test_a_truncated_entry_is_ignored_with_a_warning_and_replaced(opts: ProbeOptions, caplog) -> None:
    rt = runtime()
    probe(rt, opts)
    path = _only_entry(opts)
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with caplog.at_level(logging.WARNING):
        assert _misses(rt, opts)
    assert "truncated or corrupt" in caplog.text
    assert not _misses(rt, opts), "the probe stored a whole entry again"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda t: t.replace('"format": "ecs5probe-cache/1"', '"format": "someone-else/1"'),
        lambda t: t.replace('"verified": true', '"verified": false'),  # edited: the digest tells
        lambda t: "[1, 2, 3]",
        lambda t: t.replace('"key": "', '"key": "0'),
    ],
    ids=["foreign", "edited", "not-an-entry", "another-key"],
)
def test_a_foreign_or_edited_entry_is_never_trusted(opts: ProbeOptions, caplog, spoil) -> None:
    rt = runtime()
    probe(rt, opts)
    path = _only_entry(opts)
    path.write_text(spoil(path.read_text()))
    with caplog.at_level(logging.WARNING):
        assert _misses(rt, opts)
    assert "ignored" in caplog.text


def test_a_read_only_cache_dir_warns_once_and_probes_anyway(opts: ProbeOptions, monkeypatch, caplog) -> None:
    import errno

    def refuse(*a: object, **kw: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(store.tempfile, "mkstemp", refuse)
    probing._stores.clear()
    rt = runtime()
    with caplog.at_level(logging.WARNING):
        assert probe(rt, opts).verified
        assert _misses(rt, opts)
    assert caplog.text.count("cannot be written") == 1 and "Read-only file system" in caplog.text


def test_an_unwritable_directory_for_real(tmp_path: Path, caplog) -> None:
    """A cache path below a file: every write fails, the probe does not."""
    (tmp_path / "file").write_text("")
    probing._stores.clear()
    opts = ProbeOptions(jobs=1, cache_dir=str(tmp_path / "file" / "cache"))
    rt = runtime()
    with caplog.at_level(logging.WARNING):
        assert probe(rt, opts).verified
    assert "cannot be written" in caplog.text


def _writer(args: tuple[str, int]) -> int:
    root, n = args
    s = store.Store(root)
    ok = 0
    for i in range(40):
        key = cachekey.digest(["shared", i % 8])  # 8 keys, written by every process
        ok += s.put(key, "image", {"writer": n, "i": i, "pad": "x" * 2000})
        got = s.get(key)
        assert got is not None and got.body["i"] % 8 == i % 8
    return ok


def test_concurrent_writers_leave_only_whole_entries(tmp_path: Path, caplog) -> None:
    import multiprocessing

    root = str(tmp_path / "shared")
    with multiprocessing.get_context("fork").Pool(4) as pool:
        written = pool.map(_writer, [(root, n) for n in range(4)])
    assert written == [40] * 4
    s = store.Store(root)
    files = list(s.files())
    assert len(files) == 8 and not [p for p in files if p.name.startswith(".tmp-")]
    with caplog.at_level(logging.WARNING):
        for p in files:
            assert s.get(p.name[:-5]) is not None
    assert not caplog.text


def test_prune_removes_other_versions_old_and_broken_entries(tmp_path: Path, monkeypatch) -> None:
    s = store.Store(tmp_path)
    keep, old, broken, other = (cachekey.digest(i) for i in range(4))
    s.put(keep, "image", {"a": 1})
    s.put(broken, "image", {"a": 1})
    s.path(broken).write_text("{")
    monkeypatch.setattr(store, "__version__", "0.0.1")
    s.put(other, "image", {"a": 1})
    monkeypatch.undo()
    s.put(old, "image", {"a": 1})
    text = s.path(old).read_text()
    entry = store.parse(text)
    s.path(old).write_text(
        text.replace(entry.probed_at, "2020-01-01T00:00:00+00:00")
    )  # the digest covers the body, not the time
    (tmp_path / "results" / "notes.txt").write_text("not ours")
    assert s.prune() == 2  # another version's, the broken one
    assert s.prune(older_than_days=30) == 1
    assert [p.name[:-5] for p in s.files()] == [keep]
    assert s.clear() == 1 and not list(s.files())
    assert (tmp_path / "results" / "notes.txt").exists(), "clear removes only the cache's own files"


def test_the_default_dir_honours_xdg_cache_home() -> None:
    assert store.default_dir({"XDG_CACHE_HOME": "/x"}) == "/x/ecs5probe"
    assert store.default_dir({}).endswith("/.cache/ecs5probe")
