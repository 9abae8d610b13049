"""The least privilege a probe verified, written in each platform's terms and accepted by its tools."""

from __future__ import annotations

import json

from ecs5probe.model import Mount, Privilege
from ecs5probe.platforms import get, read
from tests.unit.test_compose import _config_ok
from tests.unit.test_kubernetes import _validate

NGINX = Privilege(None, ("CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"), ("ALL",), True, ("non-root: binds port 80",))
REDIS = Privilege("100:101", (), ("ALL",), True)


def test_ecs_ec2_drops_all_and_adds_fargate_drops_the_defaults_it_does_not_need() -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    td = {
        "family": "t",
        "containerDefinitions": [
            {"name": "nginx", "image": "n", "privileged": True},
            {"name": "redis", "image": "r"},
        ],
    }
    ecs = get("ecs")
    for launch in ("EC2", "FARGATE"):
        patched, _ = ecs.patch(td, {"nginx": [Mount("/run")], "redis": []}, launch)
        notes = ecs.harden(patched, {"nginx": NGINX, "redis": REDIS}, launch)
        by = {c["name"]: c for c in patched["containerDefinitions"]}
        assert by["redis"]["user"] == "100:101" and "user" not in by["nginx"] and "privileged" not in by["nginx"]
        caps = by["nginx"]["linuxParameters"]["capabilities"]
        if launch == "EC2":
            assert caps == {"drop": ["ALL"], "add": ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"]}
            assert by["nginx"]["dockerSecurityOptions"] == ["no-new-privileges"]
        else:  # Fargate adds back only SYS_PTRACE: the same set, as the defaults it drops; no security options
            assert "add" not in caps and not {"CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"} & set(caps["drop"])
            assert {"NET_RAW", "MKNOD", "KILL", "DAC_OVERRIDE"} <= set(
                caps["drop"]
            ) and "dockerSecurityOptions" not in by["nginx"]
        assert any("privileged removed" in n for n in notes) and any("binds port 80" in n for n in notes)
        model = get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
        report = ParamValidator().validate(patched, model)
        assert not report.has_errors(), report.generate_report()
        scanned = {(v.container, v.control): str(v.verdict) for v in ecs.evaluate(patched, ["ECS.20", "ECS.4"])}
        assert scanned == {
            ("nginx", "ECS.20"): "FAILED",
            ("redis", "ECS.20"): "PASSED",
            ("nginx", "ECS.4"): "PASSED",
            ("redis", "ECS.4"): "PASSED",
        }


def test_kubernetes_gets_the_restricted_profiles_fields_and_validates(tmp_path) -> None:
    src = tmp_path / "pod.yaml"
    src.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "  - name: nginx\n    image: n\n    securityContext: {privileged: true}\n  - name: redis\n    image: r\n"
    )
    (doc,) = read(src)
    k8s = get("kubernetes")
    patched, _ = k8s.patch(doc.body, {"nginx": [], "redis": []})
    notes = k8s.harden(patched, {"nginx": NGINX, "redis": REDIS})
    _validate(patched)
    nginx, redis = patched["spec"]["containers"]
    assert redis["securityContext"]["runAsUser"] == 100 and redis["securityContext"]["runAsGroup"] == 101
    assert redis["securityContext"]["runAsNonRoot"] is True and redis["securityContext"]["capabilities"] == {
        "drop": ["ALL"]
    }
    assert (
        nginx["securityContext"]["allowPrivilegeEscalation"] is False and "privileged" not in nginx["securityContext"]
    )
    assert nginx["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert any("the restricted profile allows only NET_BIND_SERVICE" in n for n in notes)
    verdicts = {(v.container, v.control): str(v.verdict) for v in k8s.evaluate(patched)}
    assert verdicts[("redis", "CKV_K8S_23")] == "PASSED" and verdicts[("redis", "CKV_K8S_37")] == "PASSED"
    assert verdicts[("nginx", "CKV_K8S_16")] == "PASSED" and verdicts[("nginx", "CKV_K8S_37")] == "FAILED"


def test_compose_gets_user_cap_drop_cap_add_and_no_new_privileges(tmp_path) -> None:
    text = "services:\n  nginx:\n    image: n\n    privileged: true\n  redis:\n    image: r\n"
    src = tmp_path / "docker-compose.yml"
    src.write_text(text)
    (doc,) = read(src)
    compose = get("compose")
    patched, _ = compose.patch(doc.body, {"nginx": [], "redis": []})
    compose.harden(patched, {"nginx": NGINX, "redis": REDIS})
    merged = _config_ok(tmp_path, compose.write([doc], [patched], "yaml"))
    nginx, redis = merged["services"]["nginx"], merged["services"]["redis"]
    assert redis["user"] == "100:101" and redis["cap_drop"] == ["ALL"] and "cap_add" not in redis
    assert nginx["cap_add"] == ["CHOWN", "NET_BIND_SERVICE", "SETGID", "SETUID"] and "privileged" not in nginx
    assert nginx["security_opt"] == ["no-new-privileges:true"]
    assert json.loads(json.dumps(REDIS.to_dict()))["user"] == "100:101"


PORT = "net.ipv4.ip_unprivileged_port_start"
WEB80 = Privilege("33:33", (), ("ALL",), True, sysctls=((PORT, "80"),))
DNS53 = Privilege("100:101", (), ("ALL",), True, sysctls=((PORT, "53"),))
PING = Privilege(None, ("NET_RAW",), ("ALL",), True)
VPN = Privilege(
    None, ("NET_ADMIN",), ("ALL",), True, evidence=(("NET_ADMIN", "7 ioctl(3, SIOCSIFMTU, ...) = -1 EPERM"),)
)


def _registered(td: dict) -> None:
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    model = get_session().get_service_model("ecs").operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(td, model)
    assert not report.has_errors(), report.generate_report()


def _task(mode: str | None, fargate: bool = False) -> dict:
    td: dict = {
        "family": "t",
        "containerDefinitions": [{"name": "web", "image": "w"}, {"name": "dns", "image": "d"}],
    }
    if mode:
        td["networkMode"] = mode
    if fargate:
        td |= {"requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512"}
    return td


def test_ecs_awsvpc_writes_the_lowest_port_on_every_container_that_needs_it_and_says_what_it_allows() -> None:
    ecs = get("ecs")
    for fargate in (False, True):
        patched, _ = ecs.patch(_task("awsvpc", fargate), {"web": [], "dns": []}, "FARGATE" if fargate else "EC2")
        notes = ecs.harden(patched, {"web": WEB80, "dns": DNS53}, "FARGATE" if fargate else "EC2")
        by = {c["name"]: c for c in patched["containerDefinitions"]}
        for name in ("web", "dns"):
            assert by[name]["systemControls"] == [{"namespace": PORT, "value": "53"}]
            assert by[name]["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}  # Fargate too
        assert by["web"]["user"] == "33:33" and by["dns"]["user"] == "100:101"
        assert any("bind ports 53 and above" in n and "every container of the task" in n for n in notes)
        _registered(patched)
        verdicts = {(v.container, v.control): str(v.verdict) for v in ecs.evaluate(patched, ["ECS.20"])}
        assert set(verdicts.values()) == {"PASSED"}


def test_ecs_bridge_sets_each_containers_own_port_and_host_mode_writes_no_user() -> None:
    ecs = get("ecs")
    patched, _ = ecs.patch(_task("bridge"), {"web": [], "dns": []}, "EC2")
    ecs.harden(patched, {"web": WEB80, "dns": DNS53}, "EC2")
    by = {c["name"]: c for c in patched["containerDefinitions"]}
    assert by["web"]["systemControls"] == [{"namespace": PORT, "value": "80"}]
    assert by["dns"]["systemControls"] == [{"namespace": PORT, "value": "53"}]
    _registered(patched)
    patched, _ = ecs.patch(_task("host"), {"web": [], "dns": []}, "EC2")
    notes = ecs.harden(patched, {"web": WEB80}, "EC2")
    web = patched["containerDefinitions"][0]
    assert "user" not in web and "systemControls" not in web
    assert any("host network mode takes no network systemControls" in n for n in notes)


def test_fargate_adds_back_only_sys_ptrace_the_verdict_says_what_it_cannot_add() -> None:
    ecs = get("ecs")
    td = _task("awsvpc", fargate=True)
    td["containerDefinitions"][0]["privileged"] = True
    patched, _ = ecs.patch(td, {"web": [], "dns": []}, "FARGATE")
    notes = ecs.harden(patched, {"web": VPN, "dns": PING}, "FARGATE")
    web, dns = patched["containerDefinitions"]
    assert any("web: needs NET_ADMIN, which Fargate cannot add" in n for n in notes)
    assert "capabilities" not in web.get("linuxParameters", {})
    # NET_RAW is one of the defaults: kept by dropping the others, nothing added
    assert "add" not in dns["linuxParameters"]["capabilities"]
    assert "NET_RAW" not in dns["linuxParameters"]["capabilities"]["drop"]
    _registered(patched)
    patched, _ = ecs.patch(_task("awsvpc"), {"web": [], "dns": []}, "EC2")
    notes = ecs.harden(patched, {"web": VPN}, "EC2")
    assert patched["containerDefinitions"][0]["linuxParameters"]["capabilities"] == {
        "drop": ["ALL"],
        "add": ["NET_ADMIN"],
    }


def test_kubernetes_pod_sysctl_is_the_lowest_port_and_validates(tmp_path) -> None:
    src = tmp_path / "pod.yaml"
    src.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n"
        "  template:\n    metadata: {labels: {a: b}}\n    spec:\n      securityContext: {fsGroup: 33}\n"
        "      containers:\n      - {name: web, image: w}\n      - {name: dns, image: d}\n"
    )
    (doc,) = read(src)
    k8s = get("kubernetes")
    patched, _ = k8s.patch(doc.body, {"web": [], "dns": []})
    notes = k8s.harden(patched, {"web": WEB80, "dns": DNS53})
    _validate(patched)
    pod = patched["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"fsGroup": 33, "sysctls": [{"name": PORT, "value": "53"}]}
    assert pod["containers"][0]["securityContext"]["runAsUser"] == 33
    assert any("bind ports 53 and above" in n for n in notes)


def test_compose_writes_sysctls(tmp_path) -> None:
    src = tmp_path / "docker-compose.yml"
    src.write_text("services:\n  web:\n    image: w\n    sysctls: [net.core.somaxconn=1024]\n")
    (doc,) = read(src)
    compose = get("compose")
    patched, _ = compose.patch(doc.body, {"web": []})
    compose.harden(patched, {"web": WEB80})
    merged = _config_ok(tmp_path, compose.write([doc], [patched], "yaml"))
    assert merged["services"]["web"]["sysctls"] == {"net.core.somaxconn": "1024", PORT: "80"}
    assert merged["services"]["web"]["user"] == "33:33"
