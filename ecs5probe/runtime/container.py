"""One container's life in a probe run: wait until ready, exercise it, stop it gracefully.

Every wait goes through :func:`poll`, which checks for cancellation at each step, so that Ctrl-C and
SIGTERM end a run at a safe point."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import docker.errors

from ecs5probe.core.ports import RunOutcome, RunSpec
from ecs5probe.errors import Cancelled
from ecs5probe.runtime import smoke
from ecs5probe.runtime.args import health_argv
from ecs5probe.runtime.netprobe import BUSYBOX, NetcheckUnavailable
from ecs5probe.runtime.session import RuntimeFailure, Session, short

POLL = 0.05


def poll(session: Session, seconds: float, done: Callable[[], bool]) -> bool:
    """Call ``done`` every POLL seconds until it returns True (True) or ``seconds`` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return True
        session.check()
        time.sleep(POLL)
    return False


def exited(container: Any) -> bool:
    container.reload()
    return container.status in ("exited", "dead")


def wait_job(session: Session, container: Any, spec: RunSpec, out: RunOutcome) -> None:
    if poll(session, spec.timeout, lambda: exited(container)):
        out.exit_code = container.attrs["State"]["ExitCode"]
        out.started, out.exited_early = True, True
        out.start_detail = f"job exited {out.exit_code}"
    else:
        out.start_detail = f"job did not finish within {spec.timeout:.0f}s"


class EarlyHealth:
    """The container's own health test, run by us (``docker exec``) from the moment it starts, one at a
    time: Docker 20.10 runs its first check only one interval after the start, so a ready app would
    wait that long to be seen. Docker's own check still runs and still says when it is unhealthy."""

    def __init__(self, api: Any, container: Any):
        config = container.attrs.get("Config") or {}
        check = config.get("Healthcheck") or {}
        self.api, self.id = api, container.id
        self.argv = health_argv(check.get("Test") or [], config.get("Shell"))
        self.timeout = (check.get("Timeout") or 30 * 10**9) / 1e9
        self.exec_id: str | None = None
        self.since = 0.0
        self.next_at = 0.0
        self.gap = POLL  # between a failed test and the next: growing to Docker's 0.5 s (a slow start is
        # not to be slowed down further by a test every few milliseconds)

    def passed(self) -> bool:
        """True once a run of the test exited 0; otherwise start the next run when none is under way."""
        if self.argv is None:
            return False
        if self.exec_id is not None:
            info = self.api.exec_inspect(self.exec_id)
            if info.get("Running") and time.monotonic() - self.since < self.timeout:
                return False
            if not info.get("Running") and info.get("ExitCode") == 0:
                return True
            self.exec_id = None  # failed, or hung past the timeout (left to Docker, as its own checks)
            self._back_off()
        if time.monotonic() < self.next_at:
            return False
        try:
            self.exec_id = self.api.exec_create(self.id, self.argv)["Id"]
            self.api.exec_start(self.exec_id, detach=True)
        except docker.errors.APIError:  # not running (any more), or the test's program is missing
            self.exec_id = None
            self._back_off()
        self.since = time.monotonic()
        return False

    def _back_off(self) -> None:
        self.next_at = time.monotonic() + self.gap
        self.gap = min(self.gap * 1.5, 0.5)


def wait_ready(session: Session, container: Any, spec: RunSpec, out: RunOutcome, health_of: Any | None = None) -> None:
    """Healthy (with a health check), or running with its output quiet for ``settle`` seconds.

    ``health_of``: the helper whose health is the container's (a Kubernetes network probe)."""
    started_at = time.monotonic()
    checked = spec.health is not None and (not spec.health.network or health_of is not None)
    quiet: dict[str, Any] = {"last": b"", "since": started_at}
    early: EarlyHealth | None = None

    def ready() -> bool:
        container.reload()
        state = container.attrs["State"]
        if state["Status"] in ("exited", "dead"):
            out.exited_early, out.exit_code = True, state["ExitCode"]
            out.start_detail = f"exited {state['ExitCode']} before it was ready"
            return True
        now = time.monotonic()
        if checked:
            nonlocal early
            checker = health_of if health_of is not None else container
            if health_of is not None:
                health_of.reload()
                state = health_of.attrs["State"]
            early = early or EarlyHealth(session.client().api, checker)
            health = state.get("Health") or {}
            if health.get("Status") == "healthy" or early.passed():
                out.started, out.start_detail, out.ready_after = True, "healthy", now - started_at
                return True
            if health.get("Status") == "unhealthy":
                log = (health.get("Log") or [{}])[-1]
                out.start_detail = f"unhealthy: {(log.get('Output') or '').strip()[:200]!r}"
                return True
            return False
        # Ready = running and quiet: no new output for ``settle`` seconds (a slow start logs).
        tail = container.logs(stdout=True, stderr=True, tail=1, timestamps=True)
        if tail != quiet["last"]:
            quiet["last"], quiet["since"] = tail, now
        if now - started_at >= spec.settle and now - quiet["since"] >= spec.settle:
            out.started, out.start_detail = True, f"running, output quiet for {spec.settle:g}s"
            out.ready_after = now - started_at
            return True
        return False

    if poll(session, spec.timeout, ready):
        return
    if not checked:
        # Still running at the deadline, output never quiet: a chatty service is running all the same.
        out.started, out.start_detail = True, f"running after {spec.timeout:g}s (output never quiet)"
        out.ready_after = time.monotonic() - started_at
    else:
        out.start_detail = f"not healthy within {spec.timeout:.0f}s"


def exercise(session: Session, container: Any, spec: RunSpec, out: RunOutcome) -> None:
    """Run each ``--exercise`` command in the container; the first that fails (or hangs) fails the run."""
    for cmd in spec.exercises:
        result: dict[str, Any] = {}

        def target(cmd: str = cmd, result: dict[str, Any] = result) -> None:
            try:
                result["r"] = container.exec_run(["/bin/sh", "-c", cmd])
            except docker.errors.APIError as e:
                result["e"] = short(e)

        t = threading.Thread(target=target, daemon=True)
        t.start()
        poll(session, spec.timeout, lambda t=t: not t.is_alive())  # type: ignore[misc]
        r = result.get("r")
        if r is None or r.exit_code != 0:
            detail = "timed out" if t.is_alive() else (result.get("e") or f"exit {r.exit_code if r else '?'}")
            text = r.output.decode("utf-8", "replace").strip()[-200:] if r is not None and r.output else ""
            out.exercises_ok, out.exercise_detail = False, f"exercise {cmd!r} failed: {detail} {text}".strip()
            return


#: A read-only error in a line of output: what an app that cannot save at its stop says.
_EROFS = re.compile(rb"(?i)read-only file system|\berofs\b|os error 30")


class _Diverged:
    """Whether a stopping container has diverged from the writable run: still running ``after`` seconds
    into its stop, having logged a read-only error since the stop signal (an app that cannot save and
    refuses to exit). Its logs are read at most every 0.2 s, only past ``after``."""

    def __init__(self, container: Any, after: float | None):
        self.container, self.after = container, after
        self.t0, self.epoch = time.monotonic(), time.time() - 0.05
        self.next_at = self.t0 + (after or 0.0)
        self.seen = False

    def __call__(self) -> bool:
        if self.after is None or time.monotonic() < self.next_at:
            return False
        self.next_at = time.monotonic() + 0.2
        try:
            since = self.container.logs(stdout=True, stderr=True, since=self.epoch)
        except docker.errors.APIError:
            return False
        self.seen = bool(_EROFS.search(since))
        return self.seen


def stop(session: Session, container: Any, spec: RunSpec, out: RunOutcome) -> None:
    """The stop signal, ``stop_grace`` seconds, then SIGKILL; the exit code either way. Past
    ``spec.stop_diverged`` seconds a container that logged a read-only error since the signal is killed
    at once: it has diverged from the writable run, and waiting the rest of the grace shows nothing more."""
    if not exited(container):
        t0 = time.monotonic()
        diverged = _Diverged(container, spec.stop_diverged)
        try:
            container.kill(signal=spec.stop_signal)
        except docker.errors.APIError:
            pass
        if poll(session, spec.stop_grace, lambda: exited(container) or diverged()) and not diverged.seen:
            out.stop_seconds = time.monotonic() - t0
        else:
            try:
                container.kill()
            except docker.errors.APIError:
                pass
            out.stop_exit_code = container.wait(timeout=30)["StatusCode"]
            out.diverged_at_stop = diverged.seen
            return
    out.stop_exit_code = container.attrs["State"]["ExitCode"]


_networks: dict[str, str] = {}  # session -> its internal network
_networks_lock = threading.Lock()


def smoke_network(session: Session) -> str:
    """The session's internal network for containers under smoke tests: made once, labelled (the
    session's close removes it); its members reach each other and the relays, nothing else."""
    with _networks_lock:
        if session.session not in _networks:
            name = f"ecs5probe-smoke-{session.session}"
            session.client().networks.create(name, driver="bridge", internal=True, labels=session.labels)
            _networks[session.session] = name
        return _networks[session.session]


def publish(session: Session, c: Any, spec: RunSpec, out: RunOutcome, image: Callable[[], str]) -> str | None:
    """For smoke tests: publish ``spec.ports`` on a loopback address of this run's own (``out.host``),
    through a relay container (of ``image()``: static busybox) on the app's network and the default
    bridge; returns the relay's id. None: no relay (the app shares this machine's network, has no port,
    or shares another's network namespace, whose sandbox publishes it)."""
    if not (spec.smoke or spec.member) or spec.mode == "job":
        return None
    if spec.network == "host":
        out.host = "127.0.0.1"
        return None
    if not spec.ports or spec.network.startswith("container:"):
        return None
    c.reload()
    networks = (c.attrs.get("NetworkSettings") or {}).get("Networks") or {}
    name, ip = next(((n, v.get("IPAddress")) for n, v in networks.items() if v.get("IPAddress")), (None, None))
    if name is None or ip is None:  # gone before it had an address: its wait says how
        return None
    relay, out.host = relay_to(session, image, name, ip, smoke.numbers(spec.ports))
    return relay


def relay_to(session: Session, image: Callable[[], str], network: str, ip: str, ports: list[int]) -> tuple[str, str]:
    """A relay on ``network`` and the default bridge, publishing ``ports`` of ``ip`` on a loopback address
    of its own: (its id, the address)."""
    try:
        tag = image()
    except NetcheckUnavailable as e:
        raise RuntimeFailure(f"smoke tests need a relay container: {e}") from None
    client = session.client()
    for _ in range(3):
        host = smoke.address(ports)
        relay = client.containers.create(**smoke.relay_kwargs(tag, ip, ports, host, session.labels))
        session.track(container=relay.id)
        try:
            client.api.connect_container_to_network(relay.id, network)
            relay.start()
        except docker.errors.APIError as e:  # another process took the address meanwhile: the next one
            session.remove_container(relay.id)
            if "address already in use" in str(e) or "port is already allocated" in str(e):
                continue
            raise
        _listening(session, relay, ports)
        return str(relay.id), host
    raise RuntimeFailure(f"no loopback address took ports {ports} for the smoke tests")


def _listening(session: Session, relay: Any, ports: list[int], seconds: float = 10.0) -> None:
    """Until the relay's listeners are up (a connection before would be reset), or ``seconds`` pass."""
    api = session.client().api

    def up() -> bool:
        try:
            ex = api.exec_create(relay.id, [BUSYBOX, "netstat", "-ltn"])
            text = api.exec_start(ex["Id"]).decode("utf-8", "replace")
        except docker.errors.APIError:
            return False
        return all(f":{p} " in text for p in ports)

    poll(session, seconds, up)


class Relay:
    """:func:`publish`, made beside the container's start (about a second here): ``ready()`` before the
    smoke tests, ``close()`` once the container has stopped."""

    def __init__(self, session: Session, c: Any, spec: RunSpec, out: RunOutcome, image: Callable[[], str]):
        self.session = session
        self.id: str | None = None
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None
        if (spec.smoke or spec.member) and spec.ports and spec.mode == "service":
            self.thread = threading.Thread(target=self._make, args=(c, spec, out, image), daemon=True)
            self.thread.start()

    def _make(self, c: Any, spec: RunSpec, out: RunOutcome, image: Callable[[], str]) -> None:
        try:
            self.id = publish(self.session, c, spec, out, image)
        except BaseException as e:  # noqa: BLE001 - raised in the run's own thread by ready()
            self.error = e

    def ready(self) -> None:
        if self.thread is not None:
            self.thread.join()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        if self.thread is not None:
            self.thread.join()
        if self.id is not None:
            self.session.remove_container(self.id)


def after_exercises(session: Session, c: Any, spec: RunSpec, out: RunOutcome) -> None:
    """Once exercised: the smoke tests from this machine, the signals, the soak. The first failure ends
    them (``out.smoke_detail`` or ``out.soak_detail`` says which, and how)."""
    if not out.exercises_ok:
        return
    if spec.smoke:
        extra = dict(spec.smoke_env)
        if out.host is not None and spec.member:
            extra[smoke.host_variable(spec.member)] = out.host
        host = extra.pop("ECS5PROBE_HOST", None) or out.host
        if host is None:
            out.smoke_ok, out.smoke_detail = False, "smoke tests not run: the container's ports were not published"
            return
        env = smoke.environment(host, str(c.id), spec.image, extra)
        out.smoke_ok, out.smoke_detail = smoke.run_commands(
            spec.smoke, env, spec.timeout, cancelled=lambda: _cancelled(session)
        )
        session.check()
        if not out.smoke_ok:
            return
    for sig in spec.signals:
        if exited(c):
            break
        try:
            c.kill(signal=sig)
        except docker.errors.APIError:
            pass
        if poll(session, 1.0, lambda: exited(c)):
            out.soak_detail = f"exited {c.attrs['State']['ExitCode']} after {sig}"
            return
    if spec.soak > 0 and not exited(c):
        t0 = time.monotonic()
        if poll(session, spec.soak, lambda: exited(c)):
            out.soak_detail = (
                f"exited {c.attrs['State']['ExitCode']} {time.monotonic() - t0:.0f}s into the {spec.soak:g}s soak"
            )


def _cancelled(session: Session) -> bool:
    try:
        session.check()
    except Cancelled:
        return True
    return False
