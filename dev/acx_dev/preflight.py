"""What `make run` settles before it starts anything: free ports and the dev pepper.

A taken port is reported here as one line naming the variable to change, instead of a child
crashing with a traceback once everything else is up.
"""

from __future__ import annotations

import errno
import os
import secrets
import socket
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DEFAULT_METRICS_PORT", "PEPPER_FILE", "PreflightError", "dev_pepper", "metrics_port", "require_free"]

DEFAULT_METRICS_PORT = 9191
PEPPER_FILE = "secret_pepper"


class PreflightError(Exception):
    """Something `make run` cannot start with; the message is one line for the user."""


def _bindable(host: str, port: int) -> OSError | None:
    """None when `host:port` can be listened on right now, else the bind error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Like the servers themselves: a TIME_WAIT leftover of the previous run is no conflict
        # (Linux still refuses the bind while another socket listens there).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen()
        except OSError as exc:
            return exc
    return None


def require_free(host: str, port: int, variable: str) -> None:
    """Raise `PreflightError` naming `variable` when `host:port` cannot be listened on."""
    error = _bindable(host, port)
    if error is None:
        return
    if error.errno == errno.EADDRINUSE:
        raise PreflightError(
            f"port {port} on {host} is already in use by another program; set {variable} to a free port"
            f" (e.g. {variable}={_free_port(host)} make run)"
        )
    raise PreflightError(f"cannot listen on {host}:{port} ({error.strerror}); check HOST and {variable}")


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def metrics_port(host: str, environ: Mapping[str, str], configured: int) -> int:
    """The converter's metrics port: as configured when WORKER_METRICS_PORT is set (0 = off), which
    must then be free; otherwise 9191 when free, else any free port, so that two `make run` side
    by side need only PORT and DATA_DIR."""
    if environ.get("WORKER_METRICS_PORT", "").strip():
        if configured:
            require_free(host, configured, "WORKER_METRICS_PORT")
        return configured
    if _bindable(host, DEFAULT_METRICS_PORT) is None:
        return DEFAULT_METRICS_PORT
    return _free_port(host)


def dev_pepper(data_dir: Path) -> tuple[str, bool]:
    """The pepper kept in `<data_dir>/secret_pepper`, created (random, mode 0600) when missing.

    Returns (pepper, created). Raises `PreflightError` when the file is unreadable or too short.
    """
    path = data_dir / PEPPER_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    pepper = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_pepper(path), False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(pepper + "\n")
    return pepper, True


def _read_pepper(path: Path) -> str:
    for _ in range(20):  # a `make run` starting at the same moment may still be writing it
        try:
            kept = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise PreflightError(f"cannot read {path}: {exc}; delete it to make a new pepper") from None
        if kept:
            break
        time.sleep(0.05)
    if len(kept) < 8:
        raise PreflightError(f"{path} holds no usable pepper (under 8 characters); delete it to make a new one")
    return kept
