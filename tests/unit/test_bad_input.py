"""Bad input, broadly: every case exits 2 with one clear line, no traceback, and no partial output file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecs5probe.core.logs import parse_logs
from ecs5probe.core.strace import parse_trace
from ecs5probe.errors import DaemonUnavailable, Ecs5ProbeError
from ecs5probe.platforms import find, read
from tests.fakes import HEALTH, RUNTIME, FakeApp, FakeRuntime, cli_invoke, fs, image

GOOD_TD = {"family": "web", "containerDefinitions": [{"name": "app", "image": "app:1", "essential": True}]}


@pytest.fixture(autouse=True)
def fake_runtime(monkeypatch):
    rt = FakeRuntime(image(health=HEALTH), fs("/run"), FakeApp(writes=["/run/app.pid"]))
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    return rt


def _files(tmp: Path) -> dict[str, str]:
    """Inputs the cases name: {name} in an argument becomes the path of that file."""
    (tmp / "good.json").write_text(json.dumps(GOOD_TD))
    (tmp / "empty.json").write_text("")
    (tmp / "binary.json").write_bytes(b"\xff\xfe\x00\x01garbage\x00" * 100)
    (tmp / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (tmp / "number.json").write_text("42")
    (tmp / "notalist.json").write_text(json.dumps({"family": "x", "containerDefinitions": {"a": 1}}))
    (tmp / "notdicts.json").write_text(json.dumps({"family": "x", "containerDefinitions": [1, "two", None]}))
    (tmp / "nameless.json").write_text(json.dumps({"family": "x", "containerDefinitions": [{"image": "a"}]}))
    (tmp / "bomb.yaml").write_text(_alias_bomb())
    (tmp / "deep.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    (tmp / "bad.tf").write_text('resource "aws_ecs_task_definition" "x" {\n  family = \n')
    (tmp / "binary.tf").write_bytes(b"\x00\xff" * 500)
    (tmp / "huge.json").write_text('{"family": "x", "pad": "' + "x" * 20_000_000 + '"}')
    loop = tmp / "loop"
    loop.mkdir()
    (loop / "self").symlink_to(loop)
    (loop / "good.json").write_text(json.dumps(GOOD_TD))
    (tmp / "adir").mkdir()
    (tmp / "images.bin").write_bytes(b"\xff\xfe\xfa" * 10)
    (tmp / "images-empty.txt").write_text("# nothing\n\n")
    (tmp / "baseline-bad.json").write_text("{not json")
    (tmp / "baseline-shape.json").write_text(json.dumps([1, 2, 3]))
    (tmp / "baseline-images.json").write_text(json.dumps({"version": 1, "images": {"app:1": "not-a-list"}}))
    (tmp / "baseline-bin.json").write_bytes(b"\xff\xfe")
    dup = {
        "family": "x",
        "volumes": [{"name": "a"}, {"name": "a"}],
        "containerDefinitions": [{"name": "app", "image": "app:1"}],
    }
    (tmp / "dup.json").write_text(json.dumps(dup))
    pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: app:1\n"
    (tmp / "k8s-good.yaml").write_text(pod)
    (tmp / "k8s-containers.yaml").write_text("apiVersion: v1\nkind: Pod\nspec:\n  containers: 3\n")
    (tmp / "k8s-memory.yaml").write_text(pod + "    resources: {limits: {memory: lots}}\n")
    (tmp / "k8s-port.yaml").write_text(pod + "    readinessProbe: {httpGet: {port: web}}\n")
    (tmp / "k8s-none.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (tmp / "compose-service.yml").write_text("services:\n  web: 3\n")
    (tmp / "compose-build.yml").write_text("services:\n  web:\n    build: .\n")
    (tmp / "compose-duration.yml").write_text(
        "services:\n  web:\n    image: app:1\n    healthcheck: {test: [CMD, 'true'], interval: soon}\n"
    )
    return {p.name: str(p) for p in tmp.iterdir()}


def _alias_bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    lines.append("Resources: *i")
    return "\n".join(lines) + "\n"


CASES = [
    # probe
    ("probe",),
    ("probe", "app:1", "--settle", "0"),
    ("probe", "app:1", "--timeout", "-1"),
    ("probe", "app:1", "--jobs", "0"),
    ("probe", "app:1", "--memory", "0"),
    ("probe", "app:1", "--pids-limit", "-5"),
    ("probe", "app:1", "--cpus", "0"),
    ("probe", "app:1", "--stop-grace", "nan"),
    ("probe", "app:1", "--report", "json"),
    ("probe", "app:1", "--report", "xml=out.xml"),
    ("probe", "app:1", "--report", "json="),
    ("probe", "app:1", "--report", "json={tmp}/missing-dir/out.json"),
    ("probe", "app:1", "--report", "json={adir}"),
    ("probe", "app:1", "--images-from", "{tmp}/no-such-file"),
    ("probe", "app:1", "--images-from", "{adir}"),
    ("probe", "--images-from", "{images.bin}"),
    ("probe", "--images-from", "{images-empty.txt}"),
    ("probe", "app:1", "--baseline", "{tmp}/missing.json"),
    ("probe", "app:1", "--baseline", "{baseline-bad.json}"),
    ("probe", "app:1", "--baseline", "{baseline-shape.json}"),
    ("probe", "app:1", "--baseline", "{baseline-images.json}"),
    ("probe", "app:1", "--baseline", "{baseline-bin.json}"),
    ("probe", "app:1", "--baseline", "{adir}"),
    ("probe", "app:1", "--update-baseline"),
    ("probe", "app:1", "--tracer", "bogus"),
    ("probe", "app:1", "--format", "bogus"),
    ("probe", "not-local:9"),
    ("probe", "app:1", "--allow-degraded", "relative/path"),
    # scan
    ("scan",),
    ("scan", "{tmp}/no-such-file.json"),
    ("scan", "{empty.json}"),
    ("scan", "{binary.json}"),
    ("scan", "{deep.json}"),
    ("scan", "{number.json}"),
    ("scan", "{notalist.json}"),
    ("scan", "{notdicts.json}"),
    ("scan", "{bomb.yaml}"),
    ("scan", "{deep.yaml}"),
    ("scan", "{bad.tf}"),
    ("scan", "{binary.tf}"),
    ("scan", "{huge.json}"),
    ("scan", "{good.json}", "--format", "bogus"),
    ("scan", "{k8s-containers.yaml}"),
    ("scan", "{k8s-none.yaml}"),
    ("scan", "{compose-service.yml}"),
    ("scan", "{good.json}", "--platform", "nomad"),
    # fix
    ("fix",),
    ("fix", "{tmp}/missing.json"),
    ("fix", "{adir}"),
    ("fix", "{good.json}", "-o", "{tmp}/missing-dir/out.json"),
    ("fix", "{good.json}", "--image", "noequals"),
    ("fix", "{good.json}", "--image", "=local:1"),
    ("fix", "{good.json}", "--image", "app:1="),
    ("fix", "{good.json}", "--image", "app:1=not-local:2"),
    ("fix", "{binary.json}"),
    ("fix", "{nameless.json}"),
    ("fix", "{notdicts.json}"),
    ("fix", "{dup.json}"),
    ("fix", "{good.json}", "{good.json}", "-o", "{good.json}"),
    ("fix", "{good.json}", "--format", "bogus"),
    ("fix", "{good.json}", "--launch-type", "LAMBDA"),
    ("fix", "{k8s-good.yaml}", "--format", "terraform"),
    ("fix", "{good.json}", "--format", "yaml"),
    ("fix", "{k8s-memory.yaml}"),
    ("fix", "{k8s-port.yaml}"),
    ("fix", "{k8s-none.yaml}"),
    ("fix", "{compose-build.yml}"),
    ("fix", "{compose-duration.yml}"),
    ("probe", "app:1", "--platform", "nomad"),
    # cleanup
    ("cleanup", "--bogus"),
]


@pytest.mark.parametrize("case", CASES, ids=[" ".join(c) for c in CASES])
def test_bad_input_exits_2_with_one_line(case, tmp_path) -> None:
    files = _files(tmp_path)
    before = set(os.listdir(tmp_path))
    args = [a.format(tmp=tmp_path, **{k.replace(".", "_"): v for k, v in files.items()}) for a in _named(case)]
    r = cli_invoke(args)
    assert r.exit_code == 2, (args, r.exit_code, r.output, r.exception)
    assert "Traceback" not in r.output and not isinstance(r.exception, (AssertionError, RecursionError))
    errors = [ln for ln in r.output.splitlines() if ln.lower().startswith("error:")]
    assert len(errors) == 1 and len(errors[0]) > len("error: ") + 5, r.output
    assert set(os.listdir(tmp_path)) == before, "a partial output file was left"


def _named(case: tuple[str, ...]) -> list[str]:
    """'{good.json}' -> '{good_json}' so that str.format can fill it."""
    out = []
    for a in case:
        if a.startswith("{") and a.endswith("}") and a[1:-1] != "tmp" and "/" not in a:
            a = "{" + a[1:-1].replace(".", "_") + "}"
        elif "{" in a and "}" in a and not a.startswith("{tmp}"):
            head, _, rest = a.partition("{")
            name, _, tail = rest.partition("}")
            a = head + "{" + name.replace(".", "_") + "}" + tail
        out.append(a)
    return out


def test_cleanup_without_a_daemon_exits_2(monkeypatch) -> None:
    class NoDaemon(FakeRuntime):
        def reap(self, dead_only: bool = True) -> tuple[int, int]:
            raise DaemonUnavailable("cannot reach the Docker daemon (refused); is it running?")

    monkeypatch.setitem(RUNTIME, "factory", lambda: NoDaemon(image(), {}, FakeApp()))
    r = cli_invoke(["cleanup"])
    assert r.exit_code == 2 and r.output.startswith("error: cannot reach the Docker daemon")


def test_symlink_loop_in_a_scanned_directory_is_walked_once(tmp_path) -> None:
    files = _files(tmp_path)
    found = list(find([str(Path(files["loop"]))]))
    assert [s.name for s in found] == ["web"]


# -- the parsers never raise anything but our own error ------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=300), max_size=20))
def test_strace_parser_takes_anything(lines: list[str]) -> None:
    parse_trace(lines, include_success=True)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                'openat(AT_FDCWD</>, "',
                '", O_WRONLY|O_CREAT',
                ") = -1 EROFS (x)",
                "<unfinished ...>",
                "<... openat resumed>",
                "12 ",
                "[pid 3] ",
                "\\",
                '"',
                "(",
                ")",
                "{",
                ",",
                "ENOENT",
                "bind(3, {sa_family=AF_UNIX, sun_path=",
                "mkdir(",
                "rename(",
                "AT_FDCWD<",
                ">",
                "\n",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_strace_parser_takes_near_misses(text: str) -> None:
    parse_trace(text.splitlines(), include_success=True)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=2000), st.one_of(st.none(), st.text(max_size=20)))
def test_log_parser_takes_anything(text: str, cwd: str | None) -> None:
    for w in parse_logs(text, cwd=cwd):
        assert w.path is None or w.path.startswith("/")


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([".json", ".tf", ".yaml", ".template"]),
    st.one_of(
        st.text(max_size=400),
        st.recursive(
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
            lambda kids: st.one_of(
                st.lists(kids, max_size=4),
                st.dictionaries(
                    st.sampled_from(
                        [
                            "family",
                            "containerDefinitions",
                            "taskDefinition",
                            "Resources",
                            "Type",
                            "Properties",
                            "ContainerDefinitions",
                            "name",
                            "image",
                            "readonlyRootFilesystem",
                            "runtimePlatform",
                            "x",
                        ]
                    ),
                    kids,
                    max_size=4,
                ),
            ),
            max_leaves=20,
        ).map(json.dumps),
    ),
)
def test_every_task_definition_reader_raises_only_our_error(tmp_path_factory, suffix: str, text: str) -> None:
    from ecs5probe.platforms import get

    path = tmp_path_factory.mktemp("td") / f"input{suffix}"
    path.write_text(text)
    try:
        for src in read(path):
            platform = get(src.platform)
            platform.evaluate(src.body)
            platform.deployment(src.body, src.name).order()
    except Ecs5ProbeError:
        pass
