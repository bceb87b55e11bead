"""`make conformance`: the outside conversion corpus (`<CONFORMANCE_DIR>/check.py`) against the service.

With BASE_URL set, checks that server. Otherwise starts the service the way `make run` does
(`acx-dev`: gateway, converter, embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL are set)
on a free port with its own DATA_DIR, checks it, and stops it. Prints check.py's output and
exits non-zero on any failed unit, a missing summary line or a service that does not come up.

    python -m tests.conformance [CONFORMANCE_DIR] [check.py arguments...]
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DIR = REPO.parent / "shared" / "conformance"
DEFAULT_KEY = "sk-ac-your-root-api-bearer-token"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)
START_TIMEOUT_S = 180.0


def free_port() -> int:
    """A port nothing listens on right now (other engineers' servers hold fixed ones)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def start_service() -> tuple[subprocess.Popen[bytes], str]:
    """`acx-dev` on free ports; returns the process and the API base URL once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKER_METRICS_PORT": "0",
        "DATA_DIR": os.environ.get("CONFORMANCE_DATA_DIR", str(REPO / ".data" / "conformance")),
        "RATE_LIMIT_RPS": "0",
    }
    log = open(REPO / ".data" / "conformance.log", "wb")  # noqa: SIM115 - kept open for the child's lifetime
    proc = subprocess.Popen(["acx-dev"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the service exited with code {proc.returncode}; see .data/conformance.log")
        if _answers(f"http://127.0.0.1:{port}/healthz"):
            return proc, f"http://127.0.0.1:{port}/api/v1"
        time.sleep(0.5)
    stop_service(proc)
    raise RuntimeError(f"the service did not answer within {START_TIMEOUT_S:.0f}s; see .data/conformance.log")


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the runner stops gateway, worker and embedded servers), SIGKILL after 30 s."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run_check(check: Path, base_url: str, args: list[str]) -> int:
    """Run check.py with this interpreter (it has httpx, openai, anthropic, google-genai, pydantic)."""
    env = {**os.environ, "BASE_URL": base_url, "API_KEY": os.environ.get("API_KEY", DEFAULT_KEY)}
    result = subprocess.run([sys.executable, str(check), *args], env=env, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    ok, verdict_line = verdict(result.stdout, result.returncode)
    print(f"make conformance: {verdict_line}")
    return 0 if ok else 1


def verdict(output: str, returncode: int) -> tuple[bool, str]:
    """OK only with a summary line, no failed unit and a zero exit code."""
    found = SUMMARY.findall(output)
    if not found:
        return False, f"FAILED: no 'N passed, M failed' line (check.py exited {returncode})"
    passed, failed = (int(n) for n in found[-1])
    if failed or returncode:
        return False, f"FAILED: {passed} passed, {failed} failed (check.py exited {returncode})"
    return True, f"OK: {passed} passed, 0 failed"


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv and not argv[0].startswith("-") else DEFAULT_DIR
    args = argv[1:] if argv and not argv[0].startswith("-") else argv
    check = folder / "check.py"
    if not check.is_file():
        print(f"make conformance: {check} not found (set CONFORMANCE_DIR to the corpus folder)", file=sys.stderr)
        return 2
    base_url = os.environ.get("BASE_URL")
    if base_url:
        return run_check(check, base_url, args)
    (REPO / ".data").mkdir(exist_ok=True)
    try:
        proc, base_url = start_service()
    except RuntimeError as exc:
        print(f"make conformance: {exc}", file=sys.stderr)
        return 1
    try:
        return run_check(check, base_url, args)
    finally:
        stop_service(proc)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
