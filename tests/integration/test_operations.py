"""Operations: graceful shutdown under load, and what the logs contain (and never contain)."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from prometheus_client.mmap_dict import MmapedDict

from acx import jobs
from tests.integration._processes import accepts_connections
from tests.integration.conftest import Gateway, Stack

pytestmark = pytest.mark.integration

SECRET_TEXT = "correct-horse-battery-staple-do-not-log"


@pytest.fixture
def own_gateway(dedicated_gateway: Callable[..., Gateway]) -> Gateway:
    """A gateway of its own (this module stops it on purpose), logging at INFO."""
    return dedicated_gateway(LOG_LEVEL="INFO", RATE_LIMIT_RPS="0")


@pytest.mark.timeout(60)
async def test_sigterm_finishes_in_flight_stores(own_gateway: Gateway, stack: Stack) -> None:
    """SIGTERM during a burst: every acknowledged store is in the database, the rest were refused
    cleanly (no half-written message), and the process exits 0."""
    headers = {"Authorization": f"Bearer {stack.root_key}"}
    async with httpx.AsyncClient(base_url=own_gateway.api_url, headers=headers, timeout=20) as client:
        session_id = (await client.post("/session", json={})).json()["data"]["id"]

        async def store(i: int) -> httpx.Response | None:
            try:
                return await client.post(
                    f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": f"m{i}"}}
                )
            except httpx.HTTPError:
                return None  # refused or cut after the signal: never acknowledged

        burst = [asyncio.create_task(store(i)) for i in range(200)]
        await asyncio.sleep(0.05)
        assert own_gateway.process.proc is not None
        own_gateway.process.proc.send_signal(signal.SIGTERM)
        responses = await asyncio.gather(*burst)
    exit_code = await asyncio.to_thread(own_gateway.process.proc.wait, 30)
    assert exit_code == 0, own_gateway.process.log_tail()
    acknowledged = {r.json()["data"]["id"] for r in responses if r is not None and r.status_code == 201}
    assert acknowledged, "no store finished before the shutdown"
    other = [r.status_code for r in responses if r is not None and r.status_code != 201]
    assert all(code == 503 for code in other), other
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id::text, seq FROM messages WHERE session_id = (SELECT id FROM"
            " sessions WHERE public_id = %s) ORDER BY seq",
            (session_id,),
        ).fetchall()
    stored = {row[0] for row in rows}
    assert acknowledged <= stored, "an acknowledged message is missing"
    assert [row[1] for row in rows] == list(range(len(rows))), "the session's sequence has a gap"


def test_logs_are_json_with_request_ids_and_no_secrets(own_gateway: Gateway, stack: Stack) -> None:
    """Log lines are JSON, the request id is echoed, and no API key or blob text is ever logged."""
    headers = {"Authorization": f"Bearer {stack.root_key}", "X-Request-ID": "trace-me-123"}
    with httpx.Client(base_url=own_gateway.api_url, headers=headers, timeout=20) as client:
        session_id = client.post("/session", json={}).json()["data"]["id"]
        ok = client.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": SECRET_TEXT}})
        assert ok.status_code == 201
        assert ok.headers["x-request-id"] == "trace-me-123"
        bad = httpx.get(f"{own_gateway.api_url}/ping", headers={"Authorization": "Bearer sk-ac-wrong-key-xyz"})
        assert bad.status_code == 401
    own_gateway.process.stop()
    text = own_gateway.process.log_path.read_text()
    assert stack.root_key not in text
    assert "sk-ac-wrong-key-xyz" not in text
    assert SECRET_TEXT not in text
    structured = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(entry.get("event") == "gateway ready" for entry in structured), text[-2000:]


def _pings_per_process(metrics_dir: Path) -> dict[str, float]:
    """`acx_http_requests_total` of /ping answered 200, per gateway process (its counter_<pid>.db)."""
    counts: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
            _metric, sample, labels, _help = json.loads(key)
            if (
                sample == "acx_http_requests_total"
                and labels.get("route") == "/api/v1/ping"
                and labels.get("status") == "200"
            ):
                pid = path.stem.removeprefix("counter_")
                counts[pid] = counts.get(pid, 0.0) + value
    return counts


def test_metrics_add_up_across_gateway_processes(
    dedicated_gateway: Callable[..., Gateway], stack: Stack, tmp_path: Path
) -> None:
    """With two gateway processes sharing PROMETHEUS_MULTIPROC_DIR, /metrics counts every request,
    whichever process served it or the scrape."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    gateway = dedicated_gateway(WEB_WORKERS="2", PROMETHEUS_MULTIPROC_DIR=str(metrics_dir), RATE_LIMIT_RPS="0")
    headers = {"Authorization": f"Bearer {stack.root_key}"}
    # Which process accepts a connection is the kernel's choice: one kept-alive connection (or even
    # a run of short ones) may all land on one process. So send pings in concurrent bursts of fresh
    # connections until each process's own counter file shows some, and count what was sent.
    sent = 0
    deadline = time.monotonic() + 60
    no_keepalive = httpx.Limits(max_keepalive_connections=0)
    with (
        httpx.Client(base_url=gateway.api_url, headers=headers, timeout=20, limits=no_keepalive) as client,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        while len(_pings_per_process(metrics_dir)) < 2:
            assert time.monotonic() < deadline, f"one process served every ping: {_pings_per_process(metrics_dir)}"
            codes = list(pool.map(lambda _: client.get("/ping").status_code, range(16)))
            assert codes == [200] * 16, codes
            sent += 16
    # The middleware counts a request once its response is sent: let the last ones land.
    settle = time.monotonic() + 10
    while sum((per_process := _pings_per_process(metrics_dir)).values()) < sent and time.monotonic() < settle:
        time.sleep(0.05)
    assert sum(per_process.values()) == sent, per_process
    root = gateway.api_url.removesuffix("/api/v1")
    for _ in range(6):  # several scrapes, served by either process, must all see every ping
        text = httpx.get(f"{root}/metrics", timeout=10).text
        pings = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("acx_http_requests_total{") and 'route="/api/v1/ping"' in line and 'status="200"' in line
        ]
        assert sum(pings) == sent, (pings, per_process)


def test_converter_metrics_listen_on_host_only(stack: Stack) -> None:
    """HOST=127.0.0.1: the converter's metrics answer there and nowhere else (issue 12 row 10)."""
    port = int(stack.worker.env["WORKER_METRICS_PORT"])
    deadline = time.monotonic() + 30  # another test may just have restarted the worker
    while not accepts_connections("127.0.0.1", port):
        assert time.monotonic() < deadline, stack.worker.log_tail()
        time.sleep(0.2)
    assert "acx_render_jobs" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert not accepts_connections("127.0.0.2", port)  # another loopback address: would answer on 0.0.0.0


def test_converter_sets_its_ready_key_and_drops_it_when_stopping(stack: Stack) -> None:
    """What `make run` waits for: the key appears once the worker is connected, and goes at shutdown."""
    assert stack.worker.proc is not None
    key = jobs.worker_ready_key(socket.gethostname(), stack.worker.proc.pid)
    with redis.Redis.from_url(stack.redis_url) as client:
        deadline = time.monotonic() + 30
        while not client.exists(key):
            assert time.monotonic() < deadline, stack.worker.log_tail()
            time.sleep(0.2)
        stack.worker.stop()
        try:
            assert not client.exists(key)
        finally:
            stack.start_worker()
