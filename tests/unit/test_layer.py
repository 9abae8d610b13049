"""Reading docker diff from a container's own layer: whiteouts, opaque directories, docker diff's kinds."""

from __future__ import annotations

import tarfile

import pytest

from ecs5probe.runtime import layerdiff as layer

ROOT = layer.TARGET


def member(path: str, kind: bytes = tarfile.REGTYPE, dev: tuple[int, int] = (0, 0)) -> tuple[str, tarfile.TarInfo]:
    m = tarfile.TarInfo(path.lstrip("/"))
    m.type = kind
    m.devmajor, m.devminor = dev
    return path, m


def test_entries_reads_overlay_and_aufs_whiteouts_and_drops_opaque_markers():
    found = layer.entries(
        [
            member(ROOT, tarfile.DIRTYPE),
            member(f"{ROOT}/etc", tarfile.DIRTYPE),
            member(f"{ROOT}/etc/issue", tarfile.CHRTYPE),  # overlay: a 0/0 character device
            member(f"{ROOT}/etc/.wh.motd"),  # aufs: a .wh. file
            member(f"{ROOT}/var/new", tarfile.DIRTYPE),
            member(f"{ROOT}/var/new/.wh..wh..opq"),
            member(f"{ROOT}/var/new/.wh..opq", tarfile.CHRTYPE),
            member(f"{ROOT}/dev/null", tarfile.CHRTYPE, (1, 3)),  # a real device is an entry
        ]
    )
    assert found == [
        ("/etc", False),
        ("/etc/issue", True),
        ("/etc/motd", True),
        ("/var/new", False),
        ("/dev/null", False),
    ]


def test_entries_without_the_layer_root_is_unknown_not_empty():
    assert layer.entries([]) is None
    assert layer.entries([member(f"{ROOT}/etc/x")]) is None
    assert layer.entries([member(ROOT, tarfile.DIRTYPE)]) == []


def test_classify_as_docker_diff_does():
    image = {"/etc", "/etc/issue", "/etc/hostname", "/var", "/var/tmp"}
    asked: list[str] = []

    def in_image(p: str) -> bool:
        asked.append(p)
        return p in image

    got = layer.classify(
        [
            ("/etc", False),
            ("/etc/issue", True),  # deleted
            ("/etc/hostname", False),  # changed
            ("/var", False),
            ("/var/tmp", False),
            ("/var/tmp/gone", True),  # made and deleted by the app: docker diff shows nothing
            ("/var/tmp/new", False),
            ("/var/tmp/new/d", False),
            ("/var/tmp/new/d/f", False),
            ("/var/tmp/new/.wh.x", True),  # a whiteout below a new directory: nothing
        ],
        in_image,
    )
    assert sorted(got) == sorted(
        [
            ("C", "/etc"),
            ("D", "/etc/issue"),
            ("C", "/etc/hostname"),
            ("C", "/var"),
            ("C", "/var/tmp"),
            ("A", "/var/tmp/new"),
            ("A", "/var/tmp/new/d"),
            ("A", "/var/tmp/new/d/f"),
        ]
    )
    # below a directory the image lacks, nothing is looked up
    assert not [p for p in asked if p.startswith("/var/tmp/new/")]


def test_classify_gives_up_past_the_lookup_budget():
    many = [("/tmp", False)] + [(f"/tmp/f{i}", False) for i in range(layer.MAX_LOOKUPS + 1)]
    with pytest.raises(layer.TooMany):
        layer.classify(many, lambda p: p == "/tmp")
    # new files in a new directory need no lookups: no budget spent
    assert (
        len(layer.classify([("/new", False)] + [(f"/new/f{i}", False) for i in range(1000)], lambda p: False)) == 1001
    )


def test_upper_dir_only_where_docker_diff_is_naive():
    data = {"UpperDir": "/var/lib/docker/x/diff"}
    assert layer.upper_dir({"GraphDriver": {"Name": "fuse-overlayfs", "Data": data}}) == "/var/lib/docker/x/diff"
    assert layer.upper_dir({"GraphDriver": {"Name": "overlay2", "Data": data}}) is None  # native diff: fast
    assert layer.upper_dir({"GraphDriver": {"Name": "fuse-overlayfs", "Data": {}}}) is None
    assert layer.upper_dir({}) is None
