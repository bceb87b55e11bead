"""Slow clients (issue 12 item 4): stalled half-header connections must not starve anyone.

A real granian gateway process: the limits under test are the server's own (connection
backpressure, header read timeout), which no in-process client exercises.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.conftest import Stack, running_gateway

pytestmark = pytest.mark.integration

STALLED = 3000
HEADER_TIMEOUT_SECONDS = 3


def _stall(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` connections that each send half a request header and then nothing."""
    stalled: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=5)
            stalled.append(sock)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    except OSError as exc:
        for sock in stalled:
            sock.close()
        pytest.fail(f"connection {len(stalled) + 1} of {count} failed: {exc!r}")
    return stalled


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(4096)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_stalled_connections_do_not_starve_other_clients(stack: Stack, tmp_path: Path) -> None:
    with running_gateway(stack, tmp_path, HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT_SECONDS)) as gateway:
        parts = urlsplit(gateway.api_url)
        assert parts.hostname is not None
        assert parts.port is not None
        started = time.monotonic()
        stalled = _stall(parts.hostname, parts.port, STALLED)
        try:
            assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS, "setup too slow to prove anything"
            with httpx.Client(timeout=5) as client:
                began = time.perf_counter()
                health = client.get(f"http://{parts.hostname}:{parts.port}/healthz")
                health_s = time.perf_counter() - began
                began = time.perf_counter()
                ping = client.get(f"{gateway.api_url}/ping", headers=stack.auth())
                ping_s = time.perf_counter() - began
            assert health.status_code == 200
            assert health_s < 1.0, f"/healthz took {health_s:.2f} s"
            assert ping.status_code == 200
            assert ping_s < 1.0, f"/api/v1/ping took {ping_s:.2f} s"
            # The server closes every stalled connection once its header timeout passes.
            deadline = time.monotonic() + HEADER_TIMEOUT_SECONDS + 10
            open_ones = stalled
            while open_ones and time.monotonic() < deadline:
                time.sleep(0.5)
                open_ones = [sock for sock in open_ones if not _closed_by_server(sock)]
            assert not open_ones, f"{len(open_ones)} stalled connections still open after the header timeout"
        finally:
            for sock in stalled:
                sock.close()
