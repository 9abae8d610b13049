"""Least privilege decided over a fake runtime that enforces privileges as the kernel does: a port below
the run's ``ip_unprivileged_port_start`` needs root (with NET_BIND_SERVICE), a capability-gated call
fails with EPERM (and strace's real line) without its capability, a non-root process has none."""

from __future__ import annotations

from dataclasses import dataclass

from ecs5probe import probe
from ecs5probe.core.harden import DEFAULT_CAPS, Harden
from ecs5probe.core.options import PORT_START, ProbeOptions
from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.render.interface import Report
from tests.fakes import HEALTH, FakeApp, FakeRuntime, fs, image

HARDEN = frozenset(Harden)
#: strace 6.1's lines for the calls the fake app makes (see tests/data/harden/refused-as-nobody.trace).
REFUSED = {
    "NET_RAW": "7 socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) = -1 EPERM (Operation not permitted)",
    "NET_ADMIN": '7 ioctl(3<socket:[28405]>, SIOCSIFMTU, {ifr_name="lo", ifr_mtu=1400}) = -1 EPERM (Operation not permitted)',
    "IPC_LOCK": "7 mlockall(MCL_CURRENT|MCL_FUTURE) = -1 EPERM (Operation not permitted)",
    "SYS_NICE": "7 setpriority(PRIO_PROCESS, 0, -5)  = -1 EACCES (Permission denied)",
}


@dataclass
class Privileged:
    """What the fake app needs beyond files: ``ports`` it binds, ``caps`` its calls need (as root),
    ``switch_to``: the uid:gid its forked worker switches to (needs SETUID/SETGID as root)."""

    ports: tuple[int, ...] = ()
    caps: tuple[str, ...] = ()
    switch_to: tuple[int, int] | None = None


class PrivRuntime(FakeRuntime):
    def __init__(self, app: FakeApp, priv: Privileged, user: str | None = None, uid: int = 0):
        super().__init__(image(health=HEALTH, user=user), fs("/run", "/var/lib/app"), app, uid=uid, strace=True)
        self.priv = priv

    def run(self, spec: RunSpec, prepared: str | None = None) -> RunOutcome:
        out = super().run(spec, prepared)
        if not out.started:
            return out
        opts = dict(spec.docker_options)
        user = spec.user or self.config.user or "0"
        uid = int(user.split(":")[0])
        start = int(dict(opts.get("sysctls") or {}).get(PORT_START, "0"))
        added = set(opts.get("cap_add") or [])
        caps = added if opts.get("cap_drop") == ["ALL"] else set(DEFAULT_CAPS) | added
        effective = caps if uid == 0 else set()  # no ambient capabilities
        trace, fail = [], ""
        if self.priv.switch_to and uid == 0:
            u, g = self.priv.switch_to
            if {"SETUID", "SETGID"} <= effective:
                trace += ["1 clone(child_stack=NULL, flags=SIGCHLD) = 14", f"14 setgid({g}) = 0", f"14 setuid({u}) = 0"]
            else:
                trace.append(f"14 setgid({g}) = -1 EPERM (Operation not permitted)")
                fail = "setgid: Operation not permitted"
        for port in self.priv.ports:
            bind = (
                f'7 bind(3<TCP:[9]>, {{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr("0.0.0.0")}}, 16)'
            )
            if port < start and "NET_BIND_SERVICE" not in effective:
                trace.append(f"{bind} = -1 EACCES (Permission denied)")
                fail = fail or f"[emerg] bind() to 0.0.0.0:{port} failed (13: Permission denied)"
            else:
                trace.append(f"{bind} = 0")
        for cap in self.priv.caps:
            if cap not in effective:
                trace.append(REFUSED[cap])
                fail = fail or "operation not permitted"
        if out.traced:
            keep = trace if spec.trace_successes else [t for t in trace if "= -1 " in t]
            out.trace = "\n".join([*out.trace.splitlines(), *keep])
        if fail:
            out.started, out.start_detail, out.exit_code, out.exited_early = (
                False,
                "exited 1 before it was ready",
                1,
                True,
            )
            out.logs = f"{out.logs}\n{fail}".strip()
            out.stop_exit_code = None
        return out


def _probe(priv: Privileged, user: str | None = None, uid: int = 0, **opts):
    rt = PrivRuntime(FakeApp(writes=["/run/app.pid"]), priv, user=user, uid=uid)
    result = probe("app:1", ProbeOptions(harden=HARDEN, **opts), runtime=rt)
    return result, rt


def test_a_prefork_worker_switch_names_the_user_without_as_user() -> None:
    result, _ = _probe(Privileged(switch_to=(33, 33)))
    p = result.privilege
    assert p is not None and p.verified and p.user == "33:33" and p.sysctls == ()


def test_non_root_on_port_80_gets_the_sysctl_at_the_lowest_port_bound_verified_so() -> None:
    result, rt = _probe(Privileged(ports=(443, 80), switch_to=(33, 33)))
    p = result.privilege
    assert p is not None and p.verified and not p.cannot
    assert p.user == "33:33" and p.sysctls == ((PORT_START, "80"),) and p.cap_drop == ("ALL",) and p.cap_add == ()
    final = rt.specs[-1]
    assert final.user == "33:33" and dict(final.docker_options)["sysctls"][PORT_START] == "80"
    # every other run kept ECS's 1024: the answer is the only place the port start is lowered
    others = [s for s in rt.specs if s.user != "33:33"]
    assert all(dict(s.docker_options)["sysctls"][PORT_START] == "1024" for s in others)


def test_no_sysctls_keeps_the_old_answer_cannot_with_the_reason() -> None:
    result, rt = _probe(Privileged(ports=(80,), switch_to=(33, 33)), sysctls=False)
    p = result.privilege
    assert p is not None and p.user is None and p.sysctls == ()
    assert any("cannot bind port 80" in c and "--no-sysctls" in c for c in p.cannot)
    assert Report([result]).failed(result)  # the CLI's exit 1
    assert not any(dict(s.docker_options)["sysctls"][PORT_START] != "1024" for s in rt.specs)


def test_compose_keeps_dockers_zero_so_nothing_is_needed() -> None:
    result, rt = _probe(Privileged(ports=(80,), switch_to=(33, 33)), platform="compose")
    p = result.privilege
    assert p is not None and p.user == "33:33" and p.sysctls == ()
    assert all("sysctls" not in dict(s.docker_options) for s in rt.specs)


def test_an_image_whose_own_user_binds_port_80_gets_the_sysctl_even_writable() -> None:
    """Caddy's case: it fails on ECS even with a writable root; the refusal names the port."""
    result, _ = _probe(Privileged(ports=(80,)), user="999:999", uid=999)
    assert result.verified
    p = result.privilege
    assert p is not None and p.user == "999:999" and p.sysctls == ((PORT_START, "80"),)
    assert any("refused below the platform's 1024" in t for t in result.tried)


def test_a_capability_outside_the_defaults_named_by_a_refused_call_is_added_and_verified_alone() -> None:
    result, rt = _probe(Privileged(caps=("NET_ADMIN",)))
    p = result.privilege
    assert result.verified and p is not None and p.verified
    assert p.cap_add == ("NET_ADMIN",) and p.cap_drop == ("ALL",)
    assert dict(p.evidence)["NET_ADMIN"].startswith("7 ioctl(") and "SIOCSIFMTU" in dict(p.evidence)["NET_ADMIN"]
    # the first run had Docker's defaults only: NET_ADMIN came from the evidence, never before
    assert "cap_add" not in dict(rt.specs[0].docker_options)
    assert any("NET_ADMIN" in (dict(s.docker_options).get("cap_add") or []) for s in rt.specs[1:])
    assert not any(
        c not in (*DEFAULT_CAPS, "NET_ADMIN") for s in rt.specs for c in dict(s.docker_options).get("cap_add") or []
    )


def test_a_default_capability_named_by_evidence_is_found_without_ablating_all_fourteen() -> None:
    result, rt = _probe(Privileged(caps=("NET_RAW",)))
    p = result.privilege
    assert p is not None and p.cap_add == ("NET_RAW",) and p.cap_drop == ("ALL",)
    assert not any(s.purpose.startswith("capabilities without") for s in rt.specs)


def test_capabilities_not_asked_still_reports_what_the_writable_run_was_refused() -> None:
    rt = PrivRuntime(FakeApp(writes=["/run/app.pid"]), Privileged(caps=("IPC_LOCK",)))
    result = probe("app:1", ProbeOptions(), runtime=rt)
    p = result.privilege
    assert result.verified and p is not None and p.cap_add == ("IPC_LOCK",) and p.cap_drop == ()


def test_fargate_cannot_add_net_admin_the_verdict_says_so_and_fails() -> None:
    from ecs5probe.core.options import CapabilityLimit

    result, _ = _probe(Privileged(caps=("NET_ADMIN",)), capability_limit=CapabilityLimit("Fargate", ("SYS_PTRACE",)))
    p = result.privilege
    assert result.verified and p is not None and p.cap_add == ("NET_ADMIN",)
    assert any("needs NET_ADMIN, which Fargate cannot add" in c for c in p.cannot)
    assert Report([result]).failed(result)


def test_a_fargate_task_definition_limits_what_its_containers_may_add() -> None:
    from ecs5probe.platforms import get

    td = {"family": "t", "requiresCompatibilities": ["FARGATE"], "containerDefinitions": [{"name": "a", "image": "i"}]}
    (c,) = get("ecs").deployment(td, "t").members
    assert c.settings.capability_limit is not None and c.settings.capability_limit.addable == ("SYS_PTRACE",)
    td = {"family": "t", "networkMode": "host", "containerDefinitions": [{"name": "a", "image": "i"}]}
    (c,) = get("ecs").deployment(td, "t").members
    assert c.settings.sysctls is False and c.settings.capability_limit is None


def test_a_documents_own_port_start_reaches_every_run_and_wins_over_the_platforms() -> None:
    from ecs5probe.core.options import ContainerSettings
    from ecs5probe.platforms import get

    td = {
        "family": "t",
        "containerDefinitions": [
            {"name": "a", "image": "i", "systemControls": [{"namespace": PORT_START, "value": "443"}]}
        ],
    }
    (c,) = get("ecs").deployment(td, "t").members
    assert isinstance(c.settings, ContainerSettings)
    opts = ProbeOptions().with_container(c.settings)
    assert dict(opts.platform_options(1024))["sysctls"] == {PORT_START: "443"}
    assert dict(ProbeOptions().platform_options(1024))["sysctls"] == {PORT_START: "1024"}
    assert "sysctls" not in dict(ProbeOptions().platform_options(None))  # Compose: Docker's 0 holds
    assert "sysctls" not in dict(ProbeOptions(network="host").platform_options(1024))


def test_the_mounts_are_written_owned_by_the_user_they_were_verified_with() -> None:
    result, _ = _probe(Privileged(ports=(80,), switch_to=(33, 33)))
    assert result.privilege is not None and result.privilege.user == "33:33"
    (run,) = [m for m in result.mounts if m.container_path == "/run"]
    assert {"uid=33", "gid=33"} <= set(run.mount_options)


def test_the_cli_exits_1_with_no_sysctls_and_0_with_the_sysctl_answer(monkeypatch) -> None:
    from tests.fakes import RUNTIME, cli_invoke

    for extra, code in (([], 0), (["--no-sysctls"], 1)):
        rt = PrivRuntime(FakeApp(writes=["/run/app.pid"]), Privileged(ports=(80,), switch_to=(33, 33)))
        monkeypatch.setitem(RUNTIME, "factory", lambda rt=rt: rt)
        r = cli_invoke(["probe", "app:1", "--harden", "non-root,capabilities", "--format", "json", *extra])
        assert r.exit_code == code, r.output
        assert ('"net.ipv4.ip_unprivileged_port_start": "80"' in r.output) is (code == 0)
