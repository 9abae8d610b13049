#!/usr/bin/env python3
"""Check recommendations on real servers the way a user would: probe, apply, run, use, stop.

For each server (benchmarks/servers/NAME/Dockerfile, built FROM ecs5probe/debian:bookworm, plus the
nginx and redis samples): probe it with ecs5probe, then run it with the plain docker CLI, independently
of ecs5probe's runtime: read-only root plus exactly the recommended mounts with ECS semantics (tmpfs with
its options, an empty volume for a bind mount, a copying volume for a volume). Wait for healthy, run the
feature that writes (NAME/use.sh inside the container), stop it with its stop signal and compare the exit
code with a writable run's. Where the feature writes only when used (a mail queued, a configuration
change), NAME/exercise.sh is given to the probe as ``--exercise``, as a user would give it. Prints one
line per server and exits 1 if any check fails.

With --harden, the probe also learns the least privilege (--harden non-root,capabilities) and the check
runs the server as ECS would with it: the user written (its tmpfs owned by it), --cap-drop ALL and the
capabilities added, no-new-privileges, net.ipv4.ip_unprivileged_port_start=1024 (ECS's and containerd's;
local Docker sets 0) unless the answer sets it (then the value written, as systemControls or the pod's
sysctls would); a server that cannot run without root must say why, and is then run as root with the rest.
--platform kubernetes probes under Kubernetes' semantics (emptyDir) instead of ECS's; --no-sysctls
probes as before sysctl answers (the "before" of docs/real-servers.md).

Usage: benchmarks/check_servers.py [--harden] [--no-sysctls] [--platform ecs|kubernetes] [NAME ...]
(run `ecs5probe demo` once first for the Debian base)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

from ecs5probe import probe
from ecs5probe.core.harden import Harden
from ecs5probe.core.options import ProbeOptions

HERE = Path(__file__).resolve().parent / "servers"
SAMPLES = {"nginx": "ecs5probe-sample/12-nginx:latest", "redis": "ecs5probe-sample/14-redis:latest"}
USE = {
    "nginx": 'bash -c \'exec 3<>/dev/tcp/127.0.0.1/80 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && grep -q "200 OK" <&3\''
    " && test -s /var/log/nginx/access.log",
    "redis": "redis-cli set k v | grep -q OK && redis-cli save | grep -q OK",
}
LABEL = f"ecs5probe.session=check-{uuid.uuid4().hex[:8]}"
PORT_START = "net.ipv4.ip_unprivileged_port_start"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=check)


def mount_args(result: dict) -> tuple[list[str], list[str]]:
    """docker run arguments for the recommended mounts, and the volumes made for them."""
    args, volumes = [], []
    for m in result["mounts"]:
        if not m["required"]:
            continue
        if m["kind"] == "tmpfs":
            opts = ",".join([*m["mountOptions"], f"size={m['sizeMiB']}m"])
            args += ["--tmpfs", f"{m['containerPath']}:{opts}"]
        else:
            vol = sh("docker", "volume", "create", "--label", LABEL).stdout.strip()
            volumes.append(vol)
            nocopy = ",volume-nocopy" if m["kind"] == "bind" and "VOLUME" not in m["reason"] else ""
            args += ["--mount", f"type=volume,src={vol},dst={m['containerPath']}{nocopy}"]
    return args, volumes


def run_once(image: str, extra: list[str], use: str) -> tuple[bool, str, int | None]:
    """Start, wait healthy (or 5 s running), use, stop; (used ok, detail, stop exit code)."""
    # as on ECS: ip_unprivileged_port_start stays 1024 (local Docker sets 0) unless the answer sets it
    ecs = [] if any(a.startswith(f"{PORT_START}=") for a in extra) else ["--sysctl", f"{PORT_START}=1024"]
    cid = sh("docker", "run", "-d", "--network", "none", "--label", LABEL, *ecs, *extra, image).stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = json.loads(sh("docker", "inspect", "--format", "{{json .State}}", cid).stdout)
            if state["Status"] == "exited":
                return False, f"exited {state['ExitCode']}: {sh('docker', 'logs', cid).stderr[-300:]}", None
            health = (state.get("Health") or {}).get("Status")
            if health == "healthy" or (health is None and time.monotonic() > deadline - 55):
                break
            time.sleep(0.3)
        else:
            return False, "not healthy within 60 s", None
        used = sh("docker", "exec", cid, "sh", "-c", use, check=False)
        time.sleep(1)
        sh("docker", "stop", "-t", "10", cid)
        code = int(sh("docker", "inspect", "--format", "{{.State.ExitCode}}", cid).stdout)
        detail = "used" if used.returncode == 0 else f"use failed: {(used.stdout + used.stderr)[-300:]}"
        return used.returncode == 0, detail, code
    finally:
        sh("docker", "rm", "-f", "-v", cid, check=False)


def privilege_args(p: dict) -> list[str]:
    """docker run arguments for the least privilege a probe wrote (the mounts' owner apart)."""
    args = ["--security-opt", "no-new-privileges"]
    if p["user"]:
        args += ["--user", p["user"]]
    args += [a for c in p["capabilities"]["drop"] for a in ("--cap-drop", c)]
    args += [a for c in p["capabilities"]["add"] for a in ("--cap-add", c)]
    return args + sysctl_args(p)


def sysctl_args(p: dict) -> list[str]:
    return [a for k, v in (p.get("sysctls") or {}).items() for a in ("--sysctl", f"{k}={v}")]


def check(name: str, harden: bool = False, platform: str = "ecs", sysctls: bool = True) -> bool:
    if name in SAMPLES:
        image, use = SAMPLES[name], USE[name]
    else:
        image = f"ecs5probe-real/{name}"
        sh("docker", "build", "-q", "-t", image, str(HERE / name))
        use = (HERE / name / "use.sh").read_text().strip()
    # A feature that writes only when used (a mail queued, a configuration change) is told to the probe
    # as a user would: NAME/exercise.sh, run as --exercise.
    exercise = HERE / name / "exercise.sh"
    options = ProbeOptions(platform=platform, sysctls=sysctls)
    if exercise.exists():
        options = replace(options, exercises=(exercise.read_text().strip(),))
    if harden:
        # Capabilities a feature needs show only when it is used (sshd's privilege separation on a
        # connection, rndc reading its key): the probe is told the feature the check uses, as a user would.
        exercises = options.exercises or (use,)  # NAME/exercise.sh where it has one (rndc waits for its channel)
        options = replace(options, exercises=exercises, harden=frozenset(Harden))
    t0 = time.monotonic()
    result = probe(image, options).to_dict()
    took = time.monotonic() - t0
    mounts = (
        ", ".join(
            f"{m['kind']} {m['containerPath']}{' (' + ','.join(m['mountOptions']) + ')' if m['mountOptions'] else ''}"
            for m in result["mounts"]
            if m["required"]
        )
        or "none"
    )
    if not result["verified"]:
        ok_w, detail_w, _ = run_once(image, [], use)
        verdict = "ok  " if not ok_w else "FAIL"  # the probe says it cannot run: true only if it cannot, writable too
        print(
            f"{verdict} {name}: probe says it cannot run ({took:.1f} s): {result['reason'][:300]}; as ECS runs it writable: {detail_w[:200]}"
        )
        return not ok_w
    p = result.get("privilege")
    # the writable reference runs with the kernel parameters written too (Caddy's port 80 as its own user)
    ok_w, detail_w, stop_w = run_once(image, sysctl_args(p) if p else [], use)
    extra, volumes = mount_args(result)  # exactly as written: each tmpfs owned by the user written
    hardened = privilege_args(p) if p else []
    try:
        ok, detail, stop = run_once(image, ["--read-only", *extra, *hardened], use)
    finally:
        for v in volumes:
            sh("docker", "volume", "rm", "-f", v, check=False)
    # What no run reached: short (at most ten), and none of it mounted.
    unexercised = [u["path"] for u in result.get("unexercised", [])]
    mounted = {m["containerPath"] for m in result["mounts"]}
    short = len(unexercised) <= 10 and not result.get("unexercisedMore") and not mounted & set(unexercised)
    good = ok_w and ok and stop == stop_w and (not p or p["verified"]) and short
    least = ""
    if p:
        caps = ",".join(p["capabilities"]["add"]) or "none"
        sysctl = "".join(f", {k}={v}" for k, v in (p.get("sysctls") or {}).items())
        least = f"; user {p['user'] or 'root'}, capabilities {caps}{sysctl}" + "".join(
            f"; CANNOT {c[:160]}" for c in p["cannot"]
        )
    print(
        f"{'ok  ' if good else 'FAIL'} {name}: probe {took:.1f} s, {len(result['runs'])} runs; mounts: {mounts}{least}; "
        f"read-only: {detail}, stop exit {stop} (writable: {detail_w}, stop exit {stop_w}); "
        f"unexercised {len(unexercised)}: {', '.join(unexercised) or 'none'}"
    )
    return good


def main(args: list[str]) -> int:
    harden, sysctls = "--harden" in args, "--no-sysctls" not in args
    platform = "ecs"
    if "--platform" in args:
        i = args.index("--platform")
        platform = args[i + 1]
        args = args[:i] + args[i + 2 :]
    names = [a for a in args if a not in ("--harden", "--no-sysctls")]
    names = names or [*sorted(p.name for p in HERE.iterdir() if (p / "Dockerfile").exists()), *SAMPLES]
    results = [check(n, harden, platform, sysctls) for n in names]
    print(f"{sum(results)} of {len(results)} servers hold up read-only with the recommended mounts")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
