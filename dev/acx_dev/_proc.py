"""Small process and file-lock helpers shared by the embedded servers and the dev runner (POSIX only)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Holders", "cmdline", "is_alive", "pick_port", "read_int", "redis_ping", "shm_attached", "terminate_pid"]


def is_alive(pid: int) -> bool:
    """Whether `pid` is a running (not zombie) process."""
    if pid <= 0:  # kill(0 or negative) would signal whole process groups
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still "exists" for kill(0); orphans stay zombies forever when PID 1 does not reap
    # (common in containers), so look at the state field.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def cmdline(pid: int) -> str | None:
    """The command line of `pid`, or None when it cannot be read (no /proc, no such process)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def shm_attached(shmid: str) -> int:
    """How many processes are attached to SysV shared memory segment `shmid` (0 if unknown/gone)."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return 0
    for row in rows:
        fields = row.split()
        if len(fields) > 6 and fields[1] == shmid:
            return int(fields[6])
    return 0


def read_int(path: Path) -> int | None:
    """An integer stored alone in a file (pidfile, port file), or None if missing or garbled."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def wait_dead(pid: int, timeout: float) -> bool:
    """Poll until `pid` is gone; True if it died within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while is_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def terminate_pid(pid: int, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Send `sig`, wait up to `timeout`, then SIGKILL (for processes that are not our children)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    if not wait_dead(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_dead(pid, 5.0)


def pick_port(preferred: int) -> int:
    """`preferred` if it can be bound on 127.0.0.1, else a free ephemeral port."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Like redis-server itself: ignore TIME_WAIT leftovers of the previous run (Linux still
            # refuses the bind while another socket listens there).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free TCP port on 127.0.0.1")


def redis_ping(port: int, timeout: float = 1.0) -> bool:
    """One RESP PING on 127.0.0.1:`port` (raw socket: no client library needed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")  # "-LOADING" while the AOF is replayed
    except OSError:
        return False


class Holders:
    """Reference count of the processes using one embedded server, kept in a JSON file.

    The file doubles as an flock(2) lock, so start/stop decisions of concurrent processes
    (two `make run`, two pytest sessions) are serialised, and a holder whose process died
    without cleaning up (SIGKILL) is pruned instead of keeping the server alive forever.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.token = f"{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._entries: list[str] = []

    @contextlib.contextmanager
    def locked(self) -> Iterator[Holders]:
        """Hold the lock; `add`/`discard`/`others` act on the file content while it is held."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                fh.seek(0)
                try:
                    entries = json.loads(fh.read() or "[]")
                except ValueError:
                    entries = []
                self._entries = [e for e in entries if isinstance(e, str) and _holder_alive(e)]
                yield self
                fh.seek(0)
                fh.truncate()
                fh.write(json.dumps(self._entries))
                fh.flush()
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def add(self) -> None:
        if self.token not in self._entries:
            self._entries.append(self.token)

    def discard(self) -> None:
        if self.token in self._entries:
            self._entries.remove(self.token)

    def others(self) -> list[str]:
        return [e for e in self._entries if e != self.token]


def _holder_alive(entry: str) -> bool:
    pid, _, _ = entry.partition(":")
    return pid.isdigit() and is_alive(int(pid))
