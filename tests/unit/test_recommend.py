"""Recommendation rules: narrowest allowed directory, mount kinds, and properties over random trees."""

import posixpath
import threading
import time
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from ecs5probe.core.paths import FORBIDDEN, is_ancestor_or_self
from ecs5probe.core.recommend import Candidate, ImageContext, candidates, make_mount, size_hint_mib
from ecs5probe.model import Write
from tests.fakes import FakeFacts, fs, image


def ctx(infos, uid=0, **kw) -> ImageContext:
    return ImageContext(image(**kw), FakeFacts(infos), uid, uid)


def diff(*paths: str) -> list[Write]:
    return [Write(p, "diff", op="added") for p in paths]


def test_file_in_existing_dir_mounts_that_dir() -> None:
    c, bad = candidates(diff("/var/lib/app/state"), ctx(fs("/var/lib/app")))
    assert [x.path for x in c] == ["/var/lib/app"] and not bad


def test_created_subdir_mounts_existing_parent_when_empty() -> None:
    c, _ = candidates(diff("/var/lib/nginx/body", "/var/lib/nginx/body/00/1"), ctx(fs("/var/lib/nginx")))
    assert [x.path for x in c] == ["/var/lib/nginx"]


def test_created_dir_under_broad_parent_mounts_the_new_dir() -> None:
    c, bad = candidates(diff("/var/lib/newapp/db"), ctx(fs("/var/lib")))
    assert [x.path for x in c] == ["/var/lib/newapp"] and not bad


def test_write_directly_in_forbidden_dir_is_unmountable() -> None:
    c, bad = candidates(diff("/etc/passwd"), ctx(fs("/etc", content=("/etc",))))
    assert c == [] and bad and "broad" in bad[0].reason


def test_app_code_directory_is_protected() -> None:
    infos = fs("/app", content=("/app",))
    c, bad = candidates(diff("/app/app.log", "/app/cache/x"), ctx(infos, workdir="/app"))
    assert [x.path for x in c] == ["/app/cache"]
    assert [u.write.path for u in bad] == ["/app/app.log"]


def test_symlinked_path_resolves() -> None:
    c, _ = candidates([Write("/var/run/app.pid", "log", "EROFS")], ctx(fs("/run", "/var", links={"/var/run": "/run"})))
    assert [x.path for x in c] == ["/run"]


def test_log_write_naming_existing_dir_mounts_it() -> None:
    c, _ = candidates([Write("/var/log/apache2", "log", "EROFS")], ctx(fs("/var/log/apache2")))
    assert [x.path for x in c] == ["/var/log/apache2"]


def test_changed_dir_leaf_in_diff_is_the_dir_itself() -> None:
    c, _ = candidates([Write("/run", "diff", op="changed")], ctx(fs("/run")))
    assert [x.path for x in c] == ["/run"]


def test_dev_and_docker_managed_files_need_nothing() -> None:
    c, bad = candidates(diff("/dev/shm/x", "/etc/hosts", "/etc/resolv.conf"), ctx(fs("/dev/shm", "/etc")))
    assert c == [] and bad == []


def test_kinds() -> None:
    infos = fs("/srv/data", "/data", "/tmp", content=("/srv/data",))
    cx = ctx(infos, volumes=("/data",))
    cands, _ = candidates(diff("/srv/data/out", "/data/db", "/tmp/x"), cx)
    kinds = {c.path: make_mount(c, cx).kind for c in cands}
    assert kinds == {"/srv/data": "volume", "/data": "bind", "/tmp": "tmpfs"}


def test_non_root_tmpfs_gets_uid_gid() -> None:
    infos = fs("/home/app/data", owners={"/home/app/data": 1000, "/home/app": 1000})
    cx = ctx(infos, uid=1000)
    (cand,), _ = candidates(diff("/home/app/data/x"), cx)
    m = make_mount(cand, cx)
    assert m.kind == "tmpfs" and m.mount_options == ("uid=1000", "gid=1000")


def test_non_root_new_mount_target_gets_mode() -> None:
    cx = ctx(fs("/var/lib"), uid=1000)
    (cand,), _ = candidates(diff("/var/lib/newapp/x"), cx)
    assert "mode=0755" in make_mount(cand, cx).mount_options


def test_large_writes_use_task_storage() -> None:
    cx = ctx(fs("/var/lib/app"))
    (cand,), _ = candidates(diff("/var/lib/app/big"), cx)
    assert make_mount(cand, cx, observed_bytes=2 * 1024**3).kind == "bind"


def test_size_hint() -> None:
    assert size_hint_mib(0) == 64
    assert size_hint_mib(20 * 1024 * 1024) == 128
    assert size_hint_mib(100 * 1024 * 1024) % 64 == 0


# -- properties over random image trees --------------------------------------------------------

seg = st.sampled_from(["var", "lib", "log", "app", "data", "cache", "tmp", "run", "etc", "usr", "srv", "home"])
path = st.lists(seg, min_size=1, max_size=5).map(lambda p: "/" + "/".join(p))


@settings(max_examples=200, deadline=None)
@given(
    existing=st.lists(path, max_size=12), with_content=st.lists(path, max_size=4), writes=st.lists(path, max_size=12)
)
def test_candidates_properties(existing: list[str], with_content: list[str], writes: list[str]) -> None:
    infos = fs(*existing, *with_content, content=tuple(with_content))
    cx = ctx(infos)
    cands, bad = candidates(diff(*writes), cx)
    paths = [c.path for c in cands]
    # never a broad system path
    assert not set(paths) & FORBIDDEN
    # no result path is an ancestor of another
    for a in paths:
        for b in paths:
            assert a == b or not is_ancestor_or_self(a, b)
    # every write is either covered by a candidate or reported as unmountable
    unmountable = {u.write.path for u in bad}
    for w in writes:
        target = posixpath.dirname(w)
        covered = any(is_ancestor_or_self(p, target) or is_ancestor_or_self(p, w) for p in paths)
        assert covered or w in unmountable
    # a mount over shipped data is never a tmpfs that hides it; what a tmpfs hides, it names
    for c in cands:
        m, info = make_mount(c, cx), cx.facts.stat(c.path)
        assert not (m.kind == "tmpfs" and info.has_content)
        assert set(m.hides_image_content) == (set(info.entries) if m.kind == "tmpfs" else set())


def test_a_nested_tmpfs_keeps_the_mode_the_image_ships() -> None:
    """Its mount point is made inside the outer tmpfs: Docker gives it 1777 unless told (Debian's sshd
    refuses a world-writable /run/sshd); a directory the image ships 1777 (/run/lock) stays so."""
    infos = fs("/run/sshd", "/run/lock")
    infos["/run/lock"] = replace(infos["/run/lock"], mode=0o1777)
    cx = ctx(infos)
    sshd = make_mount(Candidate("/run/sshd", nested=True), cx)
    lock = make_mount(Candidate("/run/lock", nested=True), cx)
    outer = make_mount(Candidate("/run"), cx)
    assert "mode=0755" in sshd.mount_options and "mode=1777" in lock.mount_options
    assert not any(o.startswith("mode=") for o in outer.mount_options)


def test_warm_looks_up_every_directory_on_the_way_side_by_side() -> None:
    """Before the writable run's paths are resolved one component at a time, every directory on the
    way to each is looked up at once (several at a time), each once."""

    class Slow(FakeFacts):
        def __init__(self, infos):
            super().__init__(infos)
            self.asked: list[str] = []
            self.most = self.now = 0
            self.lock = threading.Lock()

        def lstat(self, path):
            with self.lock:
                self.asked.append(path)
                self.now += 1
                self.most = max(self.most, self.now)
            time.sleep(0.02)
            with self.lock:
                self.now -= 1
            return super().lstat(path)

    facts = Slow(fs("/var/lib/app", "/run"))
    c = ImageContext(image(), facts, 0, 0)
    c.warm(["/var/lib/app/db/a", "/var/lib/app/db/b", "/run/app.pid"])
    want = ["/run", "/run/app.pid", "/var", "/var/lib", "/var/lib/app", "/var/lib/app/db"]
    want += ["/var/lib/app/db/a", "/var/lib/app/db/b"]
    assert sorted(facts.asked) == sorted(want)
    assert facts.most > 1
