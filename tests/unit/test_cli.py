"""The CLI over a fake runtime: exit codes, formats, errors as one line, docs that match."""

import json
import re
from pathlib import Path

import pytest

from ecs5probe import cli
from ecs5probe.errors import DaemonUnavailable
from tests.fakes import HEALTH, RUNTIME, FakeApp, FakeRuntime, cli_invoke, fs, image

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def fake(monkeypatch):
    box = {}

    def use(app: FakeApp, infos=None):
        rt = FakeRuntime(image(health=HEALTH), infos or fs("/run", "/etc"), app)
        box["rt"] = rt
        monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
        return rt

    return use


def invoke(*args: str):
    return cli_invoke(list(args))


def test_probe_json_exit_0(fake) -> None:
    rt = fake(FakeApp(writes=["/run/app.pid"]))
    r = invoke("probe", "app:1", "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["verified"] is True and [m["containerPath"] for m in doc["mounts"]] == ["/run"]
    assert rt.closed


def test_probe_mounts_fragment(fake) -> None:
    fake(FakeApp(writes=["/run/app.pid"]))
    r = invoke("probe", "app:1", "--format", "mounts", "--launch-type", "FARGATE", "-q")
    frag = json.loads(r.stdout)
    assert frag["containerDefinition"]["linuxParameters"]["tmpfs"][0]["containerPath"] == "/run"


def test_probe_table_and_exit_1_when_unfixable(fake) -> None:
    fake(FakeApp(writes=["/etc/app.conf"]))
    r = invoke("probe", "app:1")
    assert r.exit_code == 1
    assert "NOT verified" in r.stdout and "/etc/app.conf" in r.stdout


def test_missing_image_is_exit_2_one_line(fake) -> None:
    fake(FakeApp())
    r = invoke("probe", "nope:latest", "-q", "--pull", "never")
    assert r.exit_code == 2
    assert "no such image: nope:latest" in r.output and "Traceback" not in r.output
    r = invoke("probe", "nope:latest", "-q")  # pulled by default: the registry says it has none
    assert r.exit_code == 2 and "cannot pull nope:latest from docker.io: no such image there" in r.output


def test_no_daemon_is_exit_2(monkeypatch) -> None:
    def boom():
        raise DaemonUnavailable("cannot reach the Docker daemon (refused); is it running?")

    monkeypatch.setitem(RUNTIME, "factory", boom)
    r = invoke("probe", "x", "-q")
    assert r.exit_code == 2 and "cannot reach the Docker daemon" in r.output


def test_bad_option_is_exit_2() -> None:
    r = invoke("probe", "x", "--timeout", "-5")
    assert r.exit_code == 2


def test_options_reach_the_probe(fake) -> None:
    rt = fake(FakeApp())
    invoke(
        "probe",
        "app:1",
        "--health-cmd",
        "true",
        "--exercise",
        "echo hi",
        "--exercise",
        "ls",
        "--network",
        "bridge",
        "-q",
    )
    spec = rt.specs[0]
    assert spec.health.test == ("CMD-SHELL", "true")
    assert spec.exercises == ("echo hi", "ls") and spec.network == "bridge"


def test_interrupt_cleans_up(fake, monkeypatch) -> None:
    rt = fake(FakeApp())

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(rt, "run", interrupted)
    r = invoke("probe", "app:1", "-q")
    assert r.exit_code == 130 and rt.cancelled and rt.closed


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text()
    for name, cmd in cli.main.commands.items():
        assert cmd.help, name
        assert f"ecs5probe {name}" in readme, f"README does not document `ecs5probe {name}`"


DOCS = README.parent / "docs"


def test_every_option_of_every_command_is_in_the_usage_reference() -> None:
    usage = (DOCS / "usage.md").read_text()
    for name, cmd in cli.main.commands.items():
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert opt in usage, f"docs/usage.md does not document {name} {opt}"


def test_how_it_works_states_the_real_number_of_log_patterns() -> None:
    from ecs5probe.core.logs import PATTERNS

    assert f"({len(PATTERNS)} patterns:" in (DOCS / "how-it-works.md").read_text()


def test_the_readme_is_a_front_door_and_its_links_resolve() -> None:
    """Short enough to read in five minutes; every local link it has points at a file that exists."""
    import re

    text = README.read_text()
    assert len(text.splitlines()) <= 200
    for heading in ("## Quick start", "## Exit codes", "## Limits", "### Kubernetes", "### Docker Compose"):
        assert heading in text
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", text):
        assert (README.parent / target).exists(), target


DATA = Path(__file__).resolve().parents[1] / "data" / "taskdefs"


def test_scan_exit_codes_and_json() -> None:
    r = invoke("scan", str(DATA / "corpus"), "--format", "json")
    assert r.exit_code == 1
    rows = json.loads(r.stdout)
    assert {"file", "line", "name", "kind", "container", "verdict", "reason"} <= set(rows[0])
    good = invoke("scan", str(DATA / "corpus" / "list.json"))
    assert good.exit_code == 1 and "FAILED" in good.stdout
    ok = invoke("scan", str(DATA / "corpus" / "windows.json"))
    assert ok.exit_code == 0 and "NOT_APPLICABLE" in ok.stdout


@pytest.mark.parametrize("name", ["malformed.json", "malformed.tf", "malformed.yaml", "no-containers.json"])
def test_scan_bad_input_exit_2(name) -> None:
    r = invoke("scan", str(DATA / "bad" / name))
    assert r.exit_code == 2 and "Traceback" not in r.output and r.output.startswith("error:")


def _fix_runtime(monkeypatch, app: FakeApp):
    rt = FakeRuntime(image("local/web:1", health=HEALTH), fs("/run", "/var/lib/app"), app)
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    return rt


def test_fix_writes_atomically_and_probes_as_defined(monkeypatch, tmp_path) -> None:
    rt = _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    td = {
        "family": "f",
        "containerDefinitions": [
            {
                "name": "a",
                "image": "registry/web:1",
                "command": ["serve"],
                "user": "1000",
                "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 5},
            }
        ],
    }
    src = tmp_path / "td.json"
    src.write_text(json.dumps(td))
    out = tmp_path / "fixed.json"
    r = invoke("fix", str(src), "--image", "registry/web:1=local/web:1", "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    fixed = json.loads(out.read_text())
    c = fixed["containerDefinitions"][0]
    assert c["readonlyRootFilesystem"] is True and c["linuxParameters"]["tmpfs"][0]["containerPath"] == "/run"
    assert rt.specs[0].command == ("serve",) and rt.specs[0].user == "1000"
    assert rt.specs[0].health.test == ("CMD-SHELL", "true")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fixed.json", "td.json"]  # no temp file left


def test_fix_formats_and_dry_run(monkeypatch, tmp_path) -> None:
    _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    src = tmp_path / "td.json"
    src.write_text(json.dumps({"family": "f", "containerDefinitions": [{"name": "a", "image": "local/web:1"}]}))
    tf = invoke("fix", str(src), "--format", "terraform", "-q")
    assert tf.exit_code == 0 and 'resource "aws_ecs_task_definition" "f"' in tf.stdout
    cfn = invoke("fix", str(src), "--format", "cloudformation", "-q")
    assert json.loads(cfn.stdout)["TaskDefinition"]["Properties"]["ContainerDefinitions"][0]["ReadonlyRootFilesystem"]
    dry = invoke("fix", str(src), "--dry-run", "-q")
    assert dry.exit_code == 0 and '"readonlyRootFilesystem": true' in dry.stdout and "+" in dry.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["td.json"]


def test_fix_unfixable_writes_nothing(monkeypatch, tmp_path) -> None:
    _fix_runtime(monkeypatch, FakeApp(writes=["/etc/app.conf"]))
    src = tmp_path / "td.json"
    src.write_text(json.dumps({"family": "f", "containerDefinitions": [{"name": "a", "image": "local/web:1"}]}))
    out = tmp_path / "fixed.json"
    r = invoke("fix", str(src), "-o", str(out), "-q")
    assert r.exit_code == 1 and not out.exists()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"family": "f", "containerDefinitions": [{"name": "a", "image": "nowhere:1"}]}, "--image nowhere:1=LOCAL"),
        (
            {
                "family": "f",
                "containerDefinitions": [{"name": "a", "image": "local/web:1"}],
                "volumes": [{"name": "v"}, {"name": "v"}],
            },
            "duplicate volume names",
        ),
        ({"family": "f"}, "no containerDefinitions"),
    ],
)
def test_fix_bad_input_exit_2_no_output(monkeypatch, tmp_path, doc, message) -> None:
    _fix_runtime(monkeypatch, FakeApp())
    src = tmp_path / "td.json"
    src.write_text(json.dumps(doc))
    out = tmp_path / "fixed.json"
    r = invoke("fix", str(src), "-o", str(out), "-q")
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_fix_many_task_definitions_into_a_directory(monkeypatch, tmp_path) -> None:
    _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    files = []
    for n in ("a", "b"):
        f = tmp_path / f"{n}.json"
        f.write_text(json.dumps({"family": n, "containerDefinitions": [{"name": n, "image": "local/web:1"}]}))
        files.append(str(f))
    out = tmp_path / "out"
    assert invoke("fix", *files, "-o", str(out), "-q").exit_code == 2  # not a directory
    out.mkdir()
    r = invoke("fix", *files, "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["a.fixed.json", "b.fixed.json"]
    assert json.loads((out / "b.fixed.json").read_text())["containerDefinitions"][0]["readonlyRootFilesystem"]


def test_daemon_lost_mid_batch_writes_what_is_complete_and_names_the_rest(monkeypatch, tmp_path) -> None:
    """--jobs with the daemon gone after the first image: exit 2, one line naming the images not
    probed, and every --report still holds the complete result."""
    rt = FakeRuntime(image("a:1", health=HEALTH), fs("/run"), FakeApp(writes=["/run/app.pid"]))
    real_inspect = rt.inspect

    def inspect(name: str):
        if name != "a:1":
            raise DaemonUnavailable("lost the Docker daemon at unix:///var/run/docker.sock during inspecting " + name)
        return real_inspect(name)

    monkeypatch.setattr(rt, "inspect", inspect)
    monkeypatch.setitem(RUNTIME, "factory", lambda: rt)
    report = tmp_path / "r.json"
    r = invoke("probe", "a:1", "b:1", "c:1", "-j", "1", "-q", "--format", "json", "--report", f"junit={report}")
    assert r.exit_code == 2, r.output
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "lost the Docker daemon" in errors[0] and "not probed: b:1, c:1" in errors[0]
    assert 'name="a:1"' in report.read_text() and "b:1" not in report.read_text()
    assert rt.closed


def test_probe_under_kubernetes_semantics_and_its_patch(fake) -> None:
    import yaml

    rt = fake(FakeApp(writes=["/run/app.pid"]))
    r = invoke("probe", "app:1", "--platform", "kubernetes", "--format", "kubernetes", "-q")
    assert r.exit_code == 0, r.output
    read_only = [s for s in rt.specs if s.read_only and s.mounts]
    assert read_only and all(m.fresh and m.options == ("mode=0777",) for s in read_only for m in s.mounts)
    spec = yaml.safe_load(r.stdout)["spec"]["template"]["spec"]
    assert spec["containers"][0]["securityContext"] == {"readOnlyRootFilesystem": True}
    assert spec["volumes"][0]["emptyDir"]["medium"] == "Memory"


def test_fix_a_kubernetes_manifest_as_defined(monkeypatch, tmp_path) -> None:
    import yaml

    rt = _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    src = tmp_path / "deploy.yaml"
    src.write_text(
        "# keep me\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {fsGroup: 2000}\n"
        "  containers:\n  - name: a\n    image: registry/web:1\n    args: [serve]\n"
        "    securityContext: {runAsUser: 1000}\n    readinessProbe:\n      httpGet: {port: 8080, path: /ready}\n"
    )
    out = tmp_path / "fixed.yaml"
    r = invoke("fix", str(src), "--image", "registry/web:1=local/web:1", "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("# keep me")
    pod = yaml.safe_load(out.read_text())
    assert pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    first = rt.specs[0]
    assert first.command == ("serve",) and first.user == "1000" and ("group_add", ["2000"]) in first.docker_options
    assert first.health.test == ("HTTP-GET", "http://127.0.0.1:8080/ready")
    verified = [s for s in rt.specs if s.read_only and s.mounts]
    assert verified and verified[-1].mounts[0].options == ("mode=2777", "gid=2000")
    bad = invoke("fix", str(src), "--image", "registry/web:1=local/web:1", "--format", "terraform", "-q")
    assert bad.exit_code == 2 and "not a kubernetes format" in bad.output


def test_fix_a_compose_file_into_an_override(monkeypatch, tmp_path) -> None:
    import yaml

    _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    src = tmp_path / "docker-compose.yml"
    src.write_text("services:\n  web:\n    image: local/web:1\n    ports: ['8080:80']\n")
    out = tmp_path / "docker-compose.override.yml"
    r = invoke("fix", str(src), "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert yaml.safe_load(out.read_text()) == {"services": {"web": {"read_only": True, "tmpfs": ["/run:size=64m"]}}}


def test_fix_probes_the_project_with_its_override_and_keeps_that_file(monkeypatch, tmp_path) -> None:
    """docker compose up merges docker-compose.override.yml: the probe runs the service so, and an
    override written over it keeps what the user had there (comments too), with what fix adds merged."""
    import yaml

    rt = _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    src = tmp_path / "docker-compose.yml"
    src.write_text("services:\n  web:\n    image: local/web:1\n")
    out = tmp_path / "docker-compose.override.yml"
    out.write_text(
        "# dev settings\nservices:\n  web:\n    user: '1000'  # the app's own user\n"
        "    read_only: false\n    environment: [DEBUG=1]\n    tmpfs: [/tmp]\nx-dev: {keep: me}\n"
    )
    r = invoke("fix", str(src), "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert {s.user for s in rt.specs} == {"1000"}
    text = out.read_text()
    assert text.startswith("# dev settings") and "# the app's own user" in text
    web = yaml.safe_load(text)["services"]["web"]
    assert web["read_only"] is True and web["user"] == "1000" and web["environment"] == ["DEBUG=1"]
    assert web["tmpfs"][0] == "/tmp" and "/run:size=64m" in web["tmpfs"]
    assert yaml.safe_load(text)["x-dev"] == {"keep": "me"}


def test_shards_cover_the_list_once_and_merge_equals_one_run(fake, tmp_path) -> None:
    from ecs5probe.app.shard import select

    images = [f"app{i}:1" for i in range(12)]
    shards = [select(images, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(images) and all(shards)  # each image in exactly one shard
    assert select(images, 2, 3) == select(list(reversed(images)), 2, 3)[::-1]  # by name, not position

    from dataclasses import replace

    rt = fake(FakeApp(writes=["/run/app.pid"]))
    rt.inspect = lambda name: replace(rt.config, ref=name)  # every appN:1 is the same app
    one = invoke("probe", *images, "--format", "json", "-q", "-j", "1")
    assert one.exit_code == 0, one.output
    paths = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}.json"
        r = invoke("probe", *images, "--shard", f"{k}/3", "--report", f"json={out}", "-q", "-j", "1")
        assert r.exit_code == 0, r.output
        paths.append(str(out))
    merged = invoke("merge", *paths, "--format", "json")
    assert merged.exit_code == 0, merged.output

    def by_image(text: str) -> dict:
        docs = json.loads(text)
        docs = docs if isinstance(docs, list) else [docs]
        for d in docs:
            d.pop("durationSeconds")
            for run in d["runs"]:
                run.pop("durationSeconds")
        return {d["image"]: d for d in docs}

    assert by_image(merged.stdout) == by_image(one.stdout) and len(by_image(one.stdout)) == 12
    base = invoke("merge", *paths, "--format", "baseline")
    assert json.loads(base.stdout)["images"]["app3:1"] == ["/run"]
    junit = invoke("merge", *paths, "--format", "junit")
    assert junit.exit_code == 0 and junit.stdout.count("<testcase") == 12
    overlap = invoke("merge", paths[0], paths[0])
    assert overlap.exit_code == 2 and "more than one report" in overlap.output


def test_bad_shard_is_exit_2(fake) -> None:
    fake(FakeApp())
    for bad in ("0/3", "4/3", "x", "1/0"):
        r = invoke("probe", "app:1", "--shard", bad, "-q")
        assert r.exit_code == 2 and "K/N" in r.output, (bad, r.output)


def test_pull_policies(fake) -> None:
    rt = fake(FakeApp(writes=["/run/app.pid"]))
    rt.registry = {"registry.local/app:2"}
    never = invoke("probe", "registry.local/app:2", "--pull", "never", "-q")
    assert never.exit_code == 2 and "--pull never" in never.output and not rt.pulled
    missing = invoke("probe", "registry.local/app:2", "--format", "json")
    assert missing.exit_code == 0, missing.output
    assert rt.pulled == ["registry.local/app:2"] and "pulling: 1 layer(s)" in missing.stderr
    again = invoke("probe", "registry.local/app:2", "-q")  # local now: not pulled again
    assert again.exit_code == 0 and rt.pulled == ["registry.local/app:2"]
    always = invoke("probe", "registry.local/app:2", "--pull", "always", "-q")
    assert always.exit_code == 0 and rt.pulled == ["registry.local/app:2"] * 2
    unknown = invoke("probe", "registry.local/nope:1", "-q")
    assert (
        unknown.exit_code == 2
        and "cannot pull registry.local/nope:1 from docker.io: no such image there" in unknown.output
    )


def test_every_dependency_is_pinned_and_the_readme_installs_the_pins() -> None:
    """A fresh machine must get the versions that passed: each requirement of the package and of its
    test and aws extras has exactly one pin in constraints.txt, and the README's commands use it."""
    import tomllib

    from packaging.requirements import Requirement

    root = README.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = [
        *project["dependencies"],
        *project["optional-dependencies"]["test"],
        *project["optional-dependencies"]["aws"],
    ]
    pins = {}
    for line in (root / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not a pin"
            pins[name] = version
    for spec in wanted:
        req = Requirement(spec)
        name = req.name.lower().replace("_", "-").replace(".", "-")
        assert name in pins, f"{name} is not pinned in constraints.txt (run .ci/lock)"
        assert req.specifier.contains(pins[name]), f"the pin {name}=={pins[name]} does not satisfy {spec}"
    setup, tests = _quick_start()
    assert "pip install -c constraints.txt ." in setup and "pip install -c constraints.txt -e '.[test]'" in tests


def _quick_start() -> list[str]:
    text = README.read_text()
    section = text[text.index("## Quick start") : text.index("\n## ", text.index("## Quick start") + 1)]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_the_quick_start_is_two_complete_commands() -> None:
    """One sets up and runs the demo, one sets up and runs the whole suite; each from a fresh machine:
    the system packages, a virtualenv, the pinned install; .ci/run runs the second."""
    commands = _quick_start()
    assert len(commands) == 2 and all("\n" not in c for c in commands), commands
    for c in commands:
        assert c.startswith("apt-get update && apt-get install -y python3-venv ") and "python3 -m venv .venv" in c
    demo, suite = commands
    assert demo.endswith("&& .venv/bin/ecs5probe demo")
    assert ".venv/bin/pytest -n 4 -m 'not serial'" in suite and suite.endswith(".venv/bin/pytest -m serial")
    ci = (README.parent / ".ci" / "run").read_text()
    assert "test-command" in ci and "<!-- test-command" in README.read_text().split(suite)[0][-200:]


def test_scan_json_names_containers_as_the_manifest_does_with_their_kind_apart() -> None:
    """A program matching containers by the manifest's own names must find the init container."""
    src = Path(__file__).resolve().parents[1] / "data" / "k8s" / "corpus" / "statefulset-init-fails.yaml"
    r = invoke("scan", str(src), "--format", "json", "--control", "CKV_K8S_22")
    assert r.exit_code == 1, r.output
    rows = {row["container"]: row for row in json.loads(r.stdout)}
    assert {row["control"] for row in rows.values()} == {"CKV_K8S_22"}
    assert set(rows) == {"init-perms", "postgres"}
    assert rows["init-perms"]["containerKind"] == "init" and rows["init-perms"]["verdict"] == "FAILED"
    assert rows["postgres"]["containerKind"] == "container" and rows["postgres"]["platform"] == "kubernetes"
    table = invoke("scan", str(src), "--control", "CKV_K8S_22")
    assert "init-perms [init]" in table.stdout and "1 passed, 1 failed" in table.stdout


def test_probe_given_a_document_reports_each_container_by_deployment_and_writes_nothing(monkeypatch, tmp_path) -> None:
    rt = _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    td = {"family": "web", "containerDefinitions": [{"name": "front", "image": "local/web:1", "command": ["serve"]}]}
    src = tmp_path / "td.json"
    src.write_text(json.dumps(td))
    r = invoke("probe", str(src), "--format", "json", "-q")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert (doc["deployment"], doc["container"], doc["containerKind"], doc["image"]) == (
        "web",
        "front",
        "container",
        "local/web:1",
    )
    assert [m["containerPath"] for m in doc["mounts"]] == ["/run"] and rt.specs[0].command == ("serve",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["td.json"]  # nothing written


def test_harden_and_platform_reach_the_probe_as_enums(fake, monkeypatch) -> None:
    import ecs5probe.app.many as many
    from ecs5probe.core.harden import Harden
    from ecs5probe.model import PlatformName

    fake(FakeApp())
    seen = []
    real = many.probe_deployment

    def spy(rt, d, opts, *a, **kw):
        seen.append((d, opts))
        return real(rt, d, opts, *a, **kw)

    monkeypatch.setattr(many, "probe_deployment", spy)
    r = invoke("probe", "app:1", "--harden", "capabilities,non-root", "--platform", "kubernetes", "-q")
    assert r.exit_code in (0, 1), r.output
    ((d, opts),) = seen
    assert [m.image for m in d.members] == ["app:1"]  # probe IMAGE: the one-container deployment
    assert opts.harden == frozenset({Harden.READ_ONLY_ROOT, Harden.NON_ROOT, Harden.CAPABILITIES})
    assert opts.platform is PlatformName.KUBERNETES
    bad = invoke("probe", "app:1", "--harden", "root")
    assert bad.exit_code == 2 and "'root' is not one of" in bad.output


def test_fix_takes_compose_files_over_the_file_as_docker_compose_f(monkeypatch, tmp_path) -> None:
    """fix -f compose.prod.yaml: the probe runs what `docker compose -f compose.yaml -f compose.prod.yaml`
    runs (the default override unread, as docker compose leaves it then); the override written holds
    only what fix adds, to be given last; a missing file is exit 2 before anything is probed."""
    import yaml

    rt = _fix_runtime(monkeypatch, FakeApp(writes=["/run/app.pid"]))
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: local/web:1\n")
    (tmp_path / "compose.override.yaml").write_text("services:\n  web:\n    user: '2000'\n")
    (tmp_path / "compose.prod.yaml").write_text("services:\n  web:\n    user: '1000'\n    environment: [ENV=prod]\n")
    out = tmp_path / "compose.fix.override.yaml"
    base, prod = str(tmp_path / "compose.yaml"), str(tmp_path / "compose.prod.yaml")
    r = invoke("fix", base, "-f", prod, "-o", str(out), "-q")
    assert r.exit_code == 0, r.output
    assert {s.user for s in rt.specs} == {"1000"}
    assert yaml.safe_load(out.read_text()) == {"services": {"web": {"read_only": True, "tmpfs": ["/run:size=64m"]}}}
    missing = invoke("fix", base, "-f", str(tmp_path / "nope.yaml"), "-o", str(out), "-q")
    assert missing.exit_code == 2 and "nope.yaml: no such file" in missing.output
