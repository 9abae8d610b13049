"""Image directory scans: ``find``/``stat`` lines in the sleeping facts container and archive members give
the same summary (owner, mode, what a mount would hide, whether it ships data)."""

from __future__ import annotations

import tarfile

from ecs5probe.runtime.listing import MAX_ENTRIES, stat_entries, summarise, tar_entries

# What `find /srv -exec stat -c "%u %g %f %s %n" {} +` prints (raw mode in hex, type bits included), in
# the order the filesystem keeps the entries.
LINES = """\
0 0 41ed 4096 /srv
100 102 41c0 4096 /srv/data
100 102 81a4 0 /srv/data/empty
100 102 41c0 4096 /srv/data/base
100 102 8180 8192 /srv/data/base/1259
0 0 41ed 4096 /srv/run
0 0 a1ff 4 /srv/run/link
0 0 43ff 4096 /srv/tmp
"""


def member(
    name: str, kind: bytes, size: int = 0, mode: int = 0o755, owner: tuple[int, int] = (0, 0)
) -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.size, m.mode = kind, size, mode
    m.uid, m.gid = owner
    return m


def test_stat_lines_and_archive_members_summarise_alike():
    pg = (100, 102)
    members = [  # the archive's order: by name, depth first
        ("/srv", member("srv", tarfile.DIRTYPE)),
        ("/srv/data", member("srv/data", tarfile.DIRTYPE, mode=0o700, owner=pg)),
        ("/srv/data/base", member("srv/data/base", tarfile.DIRTYPE, mode=0o700, owner=pg)),
        ("/srv/data/base/1259", member("srv/data/base/1259", tarfile.REGTYPE, 8192, 0o600, pg)),
        ("/srv/data/empty", member("srv/data/empty", tarfile.REGTYPE, mode=0o644, owner=pg)),
        ("/srv/run", member("srv/run", tarfile.DIRTYPE)),
        ("/srv/run/link", member("srv/run/link", tarfile.SYMTYPE, mode=0o777)),
        ("/srv/tmp", member("srv/tmp", tarfile.DIRTYPE, mode=0o1777)),
    ]
    wanted = {"/srv/data", "/srv/run", "/srv/tmp"}
    listed = stat_entries(LINES, "/srv")
    assert listed is not None
    by_exec, by_archive = summarise(listed, wanted, 5000), summarise(tar_entries(members), wanted, 5000)
    assert by_exec == by_archive
    data, run, tmp = by_exec["/srv/data"], by_exec["/srv/run"], by_exec["/srv/tmp"]
    assert (data.uid, data.gid, data.mode) == (100, 102, 0o700)
    assert data.has_content and data.entries == ("base/", "empty")  # a file with data below base/
    assert run.has_content and run.entries == ("link",)  # a link is data
    assert tmp.mode == 0o1777 and not tmp.has_content and tmp.entries == ()
    # the bytes of the files below (a copying volume's size): a link's own size is not a file's
    assert (data.content_bytes, run.content_bytes, tmp.content_bytes) == (8192, 0, 0)


def test_an_empty_file_is_an_entry_but_not_data():
    listed = stat_entries("0 0 41ed 4096 /run\n0 0 41ed 4096 /run/lock\n0 0 81a4 0 /run/lock/.keep\n", "/run")
    assert listed is not None
    lock = summarise(listed, {"/run/lock"}, 5000)["/run/lock"]
    assert lock.entries == (".keep",) and not lock.has_content


def test_a_line_that_is_not_one_or_names_another_place_gives_no_listing():
    assert stat_entries("0 0 41ed 4096 /srv\nsecond half of a name\n", "/srv") is None
    assert stat_entries("0 0 41ed 4096 /srv\n0 0 81a4 1 /etc/passwd\n", "/srv") is None
    assert stat_entries("0 0 41ed 4096 /srvx\n", "/srv") is None  # a sibling that shares the prefix
    assert stat_entries("", "/srv") == []


def test_more_entries_than_the_cap_say_nothing_and_entries_are_bounded():
    many = "0 0 41ed 4096 /d\n" + "".join(f"0 0 81a4 1 /d/f{i}\n" for i in range(200))
    listed = stat_entries(many, "/d")
    assert listed is not None
    assert summarise(listed, {"/d"}, 100) == {}
    assert len(summarise(listed, {"/d"}, 5000)["/d"].entries) == MAX_ENTRIES


def test_entries_come_in_the_archives_order_whatever_order_find_lists_them():
    lines = "0 0 41ed 4096 /e\n0 0 81a4 1 /e/passwd\n0 0 41ed 4096 /e/a-b\n0 0 41ed 4096 /e/a\n0 0 81a4 1 /e/a/z\n"
    listed = stat_entries(lines, "/e")
    assert listed is not None
    assert [e.path for e in listed] == ["/e", "/e/a", "/e/a/z", "/e/a-b", "/e/passwd"]
    assert summarise(listed, {"/e"}, 5000)["/e"].entries == ("a/", "a-b/", "passwd")
