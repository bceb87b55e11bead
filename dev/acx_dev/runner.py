"""`acx-dev` (what `make run` calls): gateway + converter in the foreground, embedded servers if needed.

Starts embedded PostgreSQL/Redis for whichever of DATABASE_URL / REDIS_URL is unset, runs
`python -m acx_gateway` and `python -m acx_converter` with both URLs in their environment, prints
the base URL and root API key once the gateway answers, and on Ctrl-C/SIGTERM (or when a child
dies) stops the children, then the embedded servers, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any, TextIO

from acx.config import ConfigError, Settings, load_settings
from acx_dev.embedded import EmbeddedError, EmbeddedServers

__all__ = ["Child", "default_children", "gateway_ready", "main", "run"]

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Child:
    """A supervised child process."""

    name: str
    argv: Sequence[str]


def default_children() -> list[Child]:
    return [
        Child("gateway", [sys.executable, "-m", "acx_gateway"]),
        Child("converter", [sys.executable, "-m", "acx_converter"]),
    ]


def gateway_ready(settings: Settings) -> bool:
    """Whether the gateway answers HTTP on GET /healthz (any status: it is up and serving)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    url = f"http://{host}:{settings.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
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
    ready: Callable[[Settings], bool] = gateway_ready,
    ready_timeout: float = 120.0,
    stop_timeout: float = 15.0,
    out: TextIO | None = None,
) -> int:
    """Supervise the services until a signal or a child exit; returns the process exit code.

    0 after Ctrl-C/SIGTERM; non-zero when a child dies, the gateway never answers, or an
    embedded server fails. Must run in the main thread (it installs signal handlers).
    """
    out = out or sys.stdout
    children = default_children() if children is None else children
    with _Signals() as signals:
        servers = EmbeddedServers.for_settings(settings)
        try:
            servers.start()
        except EmbeddedError as exc:
            _say(out, f"error: {exc}")
            return 1
        try:
            env = dict(os.environ if environ is None else environ)
            env["DATABASE_URL"] = settings.database_url or servers.database_url
            env["REDIS_URL"] = settings.redis_url or servers.redis_url
            env.setdefault("PYTHONUNBUFFERED", "1")  # interleave children's logs promptly
            if settings.database_url is None:
                _say(out, f"embedded PostgreSQL: {env['DATABASE_URL']}")
            if settings.redis_url is None:
                _say(out, f"embedded Redis: {env['REDIS_URL']}")
            return _supervise(settings, children, env, signals, ready, ready_timeout, stop_timeout, out)
        finally:
            servers.stop()


def _supervise(
    settings: Settings,
    children: Sequence[Child],
    env: dict[str, str],
    signals: _Signals,
    ready: Callable[[Settings], bool],
    ready_timeout: float,
    stop_timeout: float,
    out: TextIO,
) -> int:
    procs: list[tuple[Child, subprocess.Popen[bytes]]] = []
    try:
        for child in children:
            if signals.received:
                return 0
            # Own session: we forward signals ourselves, so a terminal Ctrl-C reaches each child
            # exactly once, and a whole child process group can be killed if it hangs.
            proc = subprocess.Popen(  # noqa: S603 - argv from code, no shell
                list(child.argv), env=env, stdin=subprocess.DEVNULL, start_new_session=True
            )
            procs.append((child, proc))
        deadline = time.monotonic() + ready_timeout
        announced = False
        while not signals.received:
            for child, proc in procs:
                if proc.poll() is not None:
                    _say(out, f"error: {child.name} exited with code {proc.returncode}; stopping")
                    return proc.returncode or 1
            if not announced and ready(settings):
                announced = True
                _say(out, f"ready: base URL {settings.base_url}{API_PREFIX}")
                _say(out, f"       API key  {settings.root_api_key}")
                _say(out, "       press Ctrl-C to stop")
            elif not announced and time.monotonic() > deadline:
                _say(
                    out,
                    f"error: the gateway did not answer on port {settings.port} within {ready_timeout:.0f}s",
                )
                return 1
            time.sleep(0.1 if announced else 0.25)
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
