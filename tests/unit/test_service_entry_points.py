"""The services' entry points refuse what they cannot run with: one line on stderr, exit 1.

No servers are needed: both checks happen before any connection is made.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

DUMMY_URLS = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/unused", "REDIS_URL": "redis://127.0.0.1:1/0"}


def _run(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("SECRET_PEPPER", "WORKER_METRICS_PORT", "HOST")}
    environ.update(DUMMY_URLS, **env)
    return subprocess.run(
        [sys.executable, "-m", module], env=environ, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("pepper", [None, "your-secret-pepper", "REPLACE-ME-with-32-random-bytes"])
def test_gateway_refuses_a_documented_pepper(pepper: str | None) -> None:
    done = _run("acx_gateway", **({} if pepper is None else {"SECRET_PEPPER": pepper}))
    assert done.returncode == 1
    assert done.stderr.startswith("acx-gateway: SECRET_PEPPER is unset or the documented placeholder")
    assert done.stderr.count("\n") == 1, done.stderr
    assert "make run" in done.stderr


def test_converter_with_its_metrics_port_taken_says_which_variable() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = _run("acx_converter", WORKER_METRICS_PORT=str(port), HOST="127.0.0.1")
    assert done.returncode == 1
    assert done.stderr == (
        f"acx-converter: cannot serve metrics on 127.0.0.1:{port} (Address already in use);"
        " set WORKER_METRICS_PORT to a free port (0 disables metrics)\n"
    )


def test_gateway_refuses_the_manifests_placeholder_root_token() -> None:
    """`sk-ac-REPLACE-ME-with-a-long-random-token` would open the default project to anyone who read
    deploy/k8s/base/secret.yaml."""
    done = _run(
        "acx_gateway", SECRET_PEPPER="a-real-random-pepper", ROOT_API_BEARER_TOKEN="REPLACE-ME-with-a-long-random-token"
    )
    assert done.returncode == 1
    assert done.stderr.startswith("acx-gateway: ROOT_API_BEARER_TOKEN is the manifests' placeholder")
    assert done.stderr.count("\n") == 1, done.stderr
