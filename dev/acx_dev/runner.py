"""`acx-dev` (what `make run` calls): gateway + converter in the foreground, embedded servers if needed.

Before starting anything it checks that PORT (and WORKER_METRICS_PORT, when set) can be listened
on, picks a free metrics port otherwise, and gives the children a random SECRET_PEPPER kept under
DATA_DIR when none is set. It then starts embedded PostgreSQL/Redis for whichever of DATABASE_URL /
REDIS_URL is unset, runs `python -m acx_gateway` and `python -m acx_converter` with both URLs in
their environment, and prints the base URL and root API key once the gateway answers /readyz and
the converter has connected to Redis and PostgreSQL. A child that exits before that is fatal; one
that exits afterwards is restarted (up to five times a minute). Ctrl-C/SIGTERM stops the
children, then the embedded servers, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import redis

from acx import jobs
from acx.config import ConfigError, Settings, load_settings
from acx_dev.embedded import EmbeddedError
from acx_dev.preflight import PreflightError, dev_pepper, metrics_port, require_free
from acx_dev.servers import EmbeddedServers

__all__ = ["Child", "default_children", "gateway_ready", "main", "run", "worker_ready"]

API_PREFIX = "/api/v1"
#: A child exiting more often than this within a minute is not coming back: stop.
MAX_RESTARTS_PER_MINUTE = 5

#: Readiness probe of a child: (its pid, the children's environment) -> ready?
ReadyCheck = Callable[[int, Mapping[str, str]], bool]


def _always_ready(pid: int, env: Mapping[str, str]) -> bool:
    return True


@dataclass(frozen=True)
class Child:
    """A supervised child process; `waiting_for` says what `ready` waits for, in error messages."""

    name: str
    argv: Sequence[str]
    ready: ReadyCheck = _always_ready
    waiting_for: str = "it to start"


def default_children(settings: Settings) -> list[Child]:
    """The gateway and the converter, each with its readiness probe."""
    return [
        Child(
            "gateway",
            [sys.executable, "-m", "acx_gateway"],
            ready=lambda _pid, _env: gateway_ready(settings),
            waiting_for=f"the gateway to answer on port {settings.port}",
        ),
        Child(
            "converter",
            [sys.executable, "-m", "acx_converter"],
            ready=worker_ready,
            waiting_for="the converter to connect to Redis and PostgreSQL",
        ),
    ]


def _local_host(settings: Settings) -> str:
    return "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104


def gateway_ready(settings: Settings) -> bool:
    """Whether the gateway answers 200 on GET /readyz (database, Redis and migrations in place)."""
    host = _local_host(settings)
    host = f"[{host}]" if ":" in host else host
    try:
        with urllib.request.urlopen(f"http://{host}:{settings.port}/readyz", timeout=1.0) as response:
            return bool(response.status == 200)
    except (OSError, ValueError):  # HTTPError (503 while starting) is an OSError too
        return False


def worker_ready(pid: int, env: Mapping[str, str]) -> bool:
    """Whether converter process `pid` has set its ready key (`acx.jobs.worker_ready_key`) in Redis."""
    key = jobs.worker_ready_key(socket.gethostname(), pid)
    try:
        with redis.Redis.from_url(env["REDIS_URL"], socket_timeout=1.0, socket_connect_timeout=1.0) as client:
            return bool(client.exists(key))
    except (redis.RedisError, OSError, KeyError, ValueError):
        return False


class _Signals:
    """Records SIGINT/SIGTERM instead of raising, so shutdown runs in one well-defined place."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self.force = False
        self._first_at = 0.0
        self._previous: dict[signal.Signals, Any] = {}

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self.received is None:
            self.received, self._first_at = signal.Signals(signum), now
        elif now - self._first_at > 0.5:
            # Only a deliberate second Ctrl-C counts: make/uv may relay the first one to us again.
            self.force = True


def run(
    settings: Settings,
    *,
    children: Sequence[Child] | None = None,
    environ: Mapping[str, str] | None = None,
    ready_timeout: float = 120.0,
    stop_timeout: float = 15.0,
    out: TextIO | None = None,
) -> int:
    """Supervise the services until a signal, or a child that exits before ready or keeps exiting.

    Returns the process exit code: 0 after Ctrl-C/SIGTERM; non-zero when a port is taken, an
    embedded server fails, a child dies before ready (or too often after), or readiness times out.
    Must run in the main thread (it installs signal handlers).
    """
    out = out or sys.stdout
    environ = os.environ if environ is None else environ
    children = default_children(settings) if children is None else children
    with _Signals() as signals:
        try:
            env = _child_environment(settings, environ, out)
        except PreflightError as exc:
            _say(out, f"error: {exc}")
            return 1
        servers = EmbeddedServers.for_settings(settings)
        try:
            servers.start()
        except EmbeddedError as exc:
            _say(out, f"error: {exc}")
            return 1
        try:
            env["DATABASE_URL"] = settings.database_url or servers.database_url
            env["REDIS_URL"] = settings.redis_url or servers.redis_url
            if settings.database_url is None:
                _say(out, f"embedded PostgreSQL: {env['DATABASE_URL']}")
            if settings.redis_url is None:
                _say(out, f"embedded Redis: {env['REDIS_URL']}")
            banner = _banner(settings, env)
            return _supervise(children, env, signals, banner, ready_timeout, stop_timeout, out)
        finally:
            servers.stop()


def _child_environment(settings: Settings, environ: Mapping[str, str], out: TextIO) -> dict[str, str]:
    """The children's environment, once every port they will listen on is known to be free."""
    require_free(settings.host, settings.port, "PORT")
    env = dict(environ)
    env["WORKER_METRICS_PORT"] = str(metrics_port(settings.host, environ, settings.worker_metrics_port))
    env.setdefault("PYTHONUNBUFFERED", "1")  # interleave children's logs promptly
    if not environ.get("SECRET_PEPPER", "").strip():
        data_dir = Path(settings.data_dir).expanduser().resolve()
        had_data = (data_dir / "postgres").exists()
        env["SECRET_PEPPER"], created = dev_pepper(data_dir)
        if created:
            note = f"SECRET_PEPPER is unset: made a random one, kept in {data_dir / 'secret_pepper'}"
            if had_data:
                note += " (API keys issued before under another pepper stop working, except the root key)"
            _say(out, note)
    return env


def _banner(settings: Settings, env: Mapping[str, str]) -> list[str]:
    lines = [
        f"ready: base URL {settings.base_url}{API_PREFIX}",
        f"       API key  {settings.root_api_key}",
    ]
    port = env.get("WORKER_METRICS_PORT", "0")
    if port != "0":
        host = _local_host(settings)
        lines.append(f"       metrics  {settings.base_url}/metrics (gateway), http://{host}:{port}/metrics (converter)")
    lines += [f"       data     {Path(settings.data_dir).expanduser().resolve()}", "       press Ctrl-C to stop"]
    return lines


def _spawn(child: Child, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    # Own session: we forward signals ourselves, so a terminal Ctrl-C reaches each child exactly
    # once, and a whole child process group can be killed if it hangs.
    return subprocess.Popen(  # noqa: S603 - argv from code, no shell
        list(child.argv), env=dict(env), stdin=subprocess.DEVNULL, start_new_session=True
    )


def _supervise(
    children: Sequence[Child],
    env: Mapping[str, str],
    signals: _Signals,
    banner: Sequence[str],
    ready_timeout: float,
    stop_timeout: float,
    out: TextIO,
) -> int:
    procs: list[tuple[Child, subprocess.Popen[bytes]]] = []
    try:
        for child in children:
            if signals.received:
                return 0
            procs.append((child, _spawn(child, env)))
        deadline = time.monotonic() + ready_timeout
        waiting = set(range(len(procs)))  # children not ready yet
        restarts: dict[str, list[float]] = {child.name: [] for child in children}
        while not signals.received:
            for index, (child, proc) in enumerate(procs):
                if proc.poll() is None:
                    continue
                code = proc.returncode
                now = time.monotonic()
                recent = [t for t in restarts[child.name] if now - t < 60.0]
                if waiting or len(recent) >= MAX_RESTARTS_PER_MINUTE:
                    why = "" if waiting else f" ({len(recent) + 1} times within a minute)"
                    _say(out, f"error: {child.name} exited with code {code}{why}; stopping")
                    return code or 1
                _say(out, f"{child.name} exited with code {code}; restarting it")
                _signal_group(proc, signal.SIGKILL)  # its own children (granian workers) may linger
                restarts[child.name] = [*recent, now]
                procs[index] = (child, _spawn(child, env))
            if waiting:
                waiting = {i for i in waiting if not procs[i][0].ready(procs[i][1].pid, env)}
                if not waiting:
                    for line in banner:
                        _say(out, line)
                elif time.monotonic() > deadline:
                    what = " and ".join(procs[i][0].waiting_for for i in sorted(waiting))
                    _say(out, f"error: gave up after {ready_timeout:.0f}s waiting for {what}")
                    return 1
            time.sleep(0.25 if waiting else 0.1)
        _say(out, f"{signals.received.name} received; stopping")
        return 0
    finally:
        _stop_children(procs, signals, stop_timeout)


def _stop_children(procs: Sequence[tuple[Child, subprocess.Popen[bytes]]], signals: _Signals, timeout: float) -> None:
    sig = signals.received or signal.SIGTERM
    for _child, proc in procs:
        if proc.poll() is None:
            _signal_group(proc, sig)
    deadline = time.monotonic() + timeout
    for child, proc in procs:
        # A second Ctrl-C means "now": skip the grace period.
        while proc.poll() is None and time.monotonic() < deadline and not signals.force:
            time.sleep(0.05)
        if proc.poll() is None:
            sys.stderr.write(f"acx-dev: {child.name} did not stop; killing it\n")
        # SIGKILL the group even when the leader exited: its own children (workers) may linger.
        _signal_group(proc, signal.SIGKILL)
        proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # pgid == pid thanks to start_new_session


def _say(out: TextIO, line: str) -> None:
    out.write(f"acx-dev: {line}\n")
    out.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point (`acx-dev`)."""
    del argv  # no options: everything comes from the environment, like the services
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"acx-dev: {exc}\n")
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
