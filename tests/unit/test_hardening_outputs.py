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
