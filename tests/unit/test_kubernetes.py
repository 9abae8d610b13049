"""Kubernetes: manifests in (every workload kind, List, Helm output), CKV_K8S_22 verdicts, run options,
emptyDir semantics, and patched manifests that keep the rest of the file and validate."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ecs5probe import scan
from ecs5probe.errors import TaskDefinitionError
from ecs5probe.model import HTTP_GET, TCP_SOCKET, ContainerKind, Mount
from ecs5probe.platforms import get, read
from ecs5probe.platforms.kubernetes import runopts
from ecs5probe.platforms.kubernetes.patch import volume_name

CORPUS = Path(__file__).resolve().parents[1] / "data" / "k8s" / "corpus"
K8S = get("kubernetes")
K8S_VERSION = "1.30.0"


def verdicts() -> dict[tuple[str, str], str]:
    return {(d.name, v.container): v.verdict for d, vs in scan([str(CORPUS)]) for v in vs if v.control == "CKV_K8S_22"}


def test_every_workload_kind_and_container_list_is_judged() -> None:
    got = verdicts()
    assert got == {
        ("CronJob/report", "report"): "FAILED",
        ("Deployment/shop/web", "nginx"): "FAILED",
        ("DaemonSet/agent", "agent"): "PASSED",
        ("DaemonSet/agent", "sidecar"): "FAILED",
        ("Job/migrate", "migrate"): "PASSED",
        ("ReplicaSet/rs", "app"): "FAILED",
        ("Pod/tool", "tool"): "PASSED",
        ("StatefulSet/db", "init-perms"): "FAILED",
        ("StatefulSet/db", "postgres"): "PASSED",
        ("Pod/quoted", "app"): "FAILED",
        ("Pod/win", "iis"): "NOT_APPLICABLE",
    }


def test_lines_point_at_each_workload_in_a_helm_stream() -> None:
    docs = list(read(CORPUS / "helm-output.yaml"))
    text = (CORPUS / "helm-output.yaml").read_text().splitlines()
    assert [d.name for d in docs] == ["DaemonSet/agent", "Job/migrate"]  # the Service runs nothing
    for d in docs:
        assert text[d.line - 1].startswith("apiVersion:")


def test_a_named_file_without_workloads_is_an_error(tmp_path) -> None:
    f = tmp_path / "svc.yaml"
    f.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
    with pytest.raises(TaskDefinitionError, match="no workload"):
        list(read(f))
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nspec: [unclosed\n")
    with pytest.raises(TaskDefinitionError, match="malformed YAML"):
        list(read(bad))


def test_run_options_follow_kubernetes_semantics() -> None:
    (doc,) = read(CORPUS / "statefulset-init-fails.yaml")
    first, second = K8S.deployment(doc.body, doc.name).members
    init = first.settings
    assert first.name == "init-perms" and first.kind is ContainerKind.INIT  # its name as written; its kind apart
    assert init.job is True and init.entrypoint == ("sh", "-c", "true")
    assert (second.name, second.image, second.kind) == ("postgres", "postgres:16", ContainerKind.CONTAINER)
    opts = second.settings
    assert opts.user == "999"  # pod-level runAsUser; no runAsGroup: the image's group for that user
    assert opts.health is not None and opts.health.test == ("CMD", "pg_isready", "-U", "postgres")
    assert opts.health.interval == 10 and opts.health.timeout == 1  # Kubernetes' defaults
    docker = dict(opts.docker_options or ())
    assert docker["mem_limit"] == "512m" and docker["group_add"] == ["999"]
    assert dict(opts.storage or ()) == {"fsGroup": "999"}


def test_command_args_env_and_expansion() -> None:
    spec = {
        "containers": [
            {
                "name": "a",
                "image": "i",
                "command": ["/bin/app", "--port=$(PORT)"],
                "args": ["--x", "$$(LITERAL)", "$(UNKNOWN)"],
                "env": [
                    {"name": "PORT", "value": "8080"},
                    {"name": "URL", "value": "http://h:$(PORT)/"},
                    {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                ],
                "workingDir": "/srv",
                "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "capabilities": {"drop": ["ALL"]}},
            }
        ]
    }
    (c,) = runopts.pod_containers(spec)
    o = c.settings
    assert o.entrypoint == ("/bin/app", "--port=8080")
    assert o.command == ("--x", "$(LITERAL)", "$(UNKNOWN)")
    assert o.environment == ("PORT=8080", "URL=http://h:8080/")  # valueFrom is not known here
    assert o.workdir == "/srv" and o.user == "1000:3000"
    assert dict(o.docker_options or ())["cap_drop"] == ["ALL"]


def test_http_and_tcp_probes_become_network_checks() -> None:
    (doc,) = read(CORPUS / "deployment-fails.yaml")
    (c,) = K8S.deployment(doc.body, doc.name).members
    h = c.settings.health
    assert h is not None and h.test == (HTTP_GET, "http://127.0.0.1:80/healthz") and h.network
    assert h.interval == 5
    c = {"name": "r", "readinessProbe": {"tcpSocket": {"port": 6379}}}
    assert runopts.health(c, {}).test == (TCP_SOCKET, "6379")
    with pytest.raises(TaskDefinitionError, match="names no port"):
        runopts.health({"name": "x", "livenessProbe": {"httpGet": {"port": "web"}}}, {})


@pytest.mark.parametrize(
    "q,expected",
    [("512Mi", 512 * 2**20), ("1G", 10**9), ("1.5Gi", int(1.5 * 2**30)), ("1e3", 1000), ("100", 100)],
)
def test_quantities(q: str, expected: int) -> None:
    assert runopts.quantity_bytes(q) == expected


def test_empty_dir_semantics_for_verification() -> None:
    spec = K8S.mount_spec(Mount("/var/cache/nginx", "tmpfs", ("uid=101", "mode=0700")), [])
    assert spec.kind == "tmpfs" and spec.options == ("mode=0777",) and not spec.copy_content  # never the image's
    grouped = K8S.mount_spec(Mount("/data", "bind", size_mib=4096), [], {"fsGroup": "2000"})
    assert grouped.options == ("mode=2777", "gid=2000") and grouped.size_mib == 4096
    copied = K8S.mount_spec(Mount("/etc/app", "volume"), ["/etc/app"])
    assert copied.copy_content  # the initContainer copies the image's files in


def _validate(doc) -> None:
    """As rendered (round-trip nodes to YAML text), against the Kubernetes API schema."""
    kubernetes_validate.validate(yaml.safe_load(K8S.render(doc, "yaml", "")), K8S_VERSION, strict=True)


def test_patch_keeps_comments_and_other_documents_and_validates(tmp_path) -> None:
    src = tmp_path / "helm.yaml"
    src.write_text((CORPUS / "helm-output.yaml").read_text())
    docs = list(read(src))
    mounts = {"agent": [Mount("/run")], "sidecar": [Mount("/tmp", "bind", size_mib=3000)]}
    patched = [K8S.patch(d.body, mounts)[0] for d in docs]
    text = K8S.write(docs, patched, "yaml")
    assert "# Source: chart/templates/service.yaml" in text and "kind: Service" in text
    out = list(yaml.safe_load_all(text))
    assert [d["kind"] for d in out] == ["Service", "DaemonSet", "Job"]
    for d in out:
        _validate(d)
    spec = out[1]["spec"]["template"]["spec"]
    assert all(c["securityContext"]["readOnlyRootFilesystem"] is True for c in spec["containers"])
    vols = {v["name"]: v["emptyDir"] for v in spec["volumes"]}
    assert vols == {"agent-run": {"medium": "Memory", "sizeLimit": "64Mi"}, "sidecar-tmp": {}}
    assert spec["containers"][1]["volumeMounts"] == [{"name": "sidecar-tmp", "mountPath": "/tmp"}]
    # the input stays as it was
    assert "volumes" not in docs[0].body["spec"]["template"]["spec"]


def test_patch_adds_a_copying_init_container_for_shipped_content() -> None:
    (doc,) = read(CORPUS / "statefulset-init-fails.yaml")
    patched, notes = K8S.patch(doc.body, {"postgres": [Mount("/var/lib/postgresql", "volume")]})
    spec = patched["spec"]["template"]["spec"]
    copy = spec["initContainers"][0]
    vol = volume_name("postgres", "/var/lib/postgresql")
    assert copy["image"] == "postgres:16" and copy["command"][:2] == ["cp", "-a"]
    assert copy["volumeMounts"][0]["name"] == vol and copy["securityContext"]["readOnlyRootFilesystem"]
    assert spec["initContainers"][1]["securityContext"]["readOnlyRootFilesystem"] is True  # init-perms too
    assert any("initContainer copies" in n for n in notes)
    _validate(patched)


def test_patch_refuses_a_read_only_mount_over_a_needed_path() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {
            "containers": [
                {"name": "a", "image": "i", "volumeMounts": [{"name": "c", "mountPath": "/etc/app", "readOnly": True}]}
            ],
            "volumes": [{"name": "c", "configMap": {"name": "c"}}],
        },
    }
    with pytest.raises(TaskDefinitionError, match="read-only"):
        K8S.patch(doc, {"a": [Mount("/etc/app/cache")]})
    doc["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] = False
    patched, notes = K8S.patch(doc, {"a": [Mount("/etc/app/cache")]})
    assert len(patched["spec"]["volumes"]) == 1 and "already covered" in notes[0]


def test_volume_names_are_dns_labels() -> None:
    long = volume_name("a-very-long-container-name-indeed", "/var/lib/some/deeply/nested/application/path")
    assert len(long) <= 63 and long == long.lower() and not long.startswith("-")
    assert long != volume_name("a-very-long-container-name-indeed", "/var/lib/some/deeply/nested/application/other")


def test_fragment_is_a_valid_strategic_merge_patch() -> None:
    text = K8S.fragment([Mount("/run"), Mount("/var/lib/app", "volume")], None, "registry.local/team/app:2")
    body = yaml.safe_load(text)
    spec = body["spec"]["template"]["spec"]
    assert spec["containers"][0]["name"] == "app" and "image" not in spec["containers"][0]
    assert spec["initContainers"][0]["image"] == "registry.local/team/app:2"
    full = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": spec},
        },
    }
    full["spec"]["template"]["spec"]["containers"][0]["image"] = "registry.local/team/app:2"
    _validate(full)


def test_memory_backed_empty_dirs_are_counted_in_a_note() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "i"}]},
    }
    _, notes = K8S.patch(
        doc, {"a": [Mount("/run"), Mount("/tmp", size_mib=128), Mount("/data", "bind", size_mib=4096)]}
    )
    assert notes == [
        "a: emptyDir medium: Memory counts against the container's memory limit (up to 192 MiB here, the sizeLimits)"
    ]


def test_nested_mounts_of_ours_are_both_added() -> None:
    """/run/lock recreated inside the /run emptyDir (the image's directory it hides): our own /run is
    no cover for it, only the pod's own mounts are."""
    doc = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "a", "image": "i"}]},
    }
    patched, notes = K8S.patch(doc, {"a": [Mount("/run"), Mount("/run/lock")]})
    assert [m["mountPath"] for m in patched["spec"]["containers"][0]["volumeMounts"]] == ["/run", "/run/lock"]
    assert not any("already covered" in n for n in notes)
