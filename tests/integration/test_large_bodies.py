"""Large bodies (issue 12 item 7): a 31 MB store does not stall the other requests of its gateway,
and a store of megabytes is checked, stored and answered exactly as a small one.

A JSON body over 1 MiB is decoded in a worker process and written with a binary COPY sent a slice
at a time (`acx_gateway.decode_pool`). On this 2-core machine the old code (decoding in a thread,
arrays of the whole blob handed to libpq at once) kept `/healthz` waiting 0.66-0.9 s; the new one
stalls it by 60-150 ms when the machine is busy and ~50 ms when it is not. The bound here, 0.3 s
above the probe's idle p95, fails the old code by far and holds on a loaded machine; a store is
tried up to three times, because other processes' load only ever adds latency, so the best
attempt is the one closest to the gateway's own stall. The 100 ms target itself is a `make bench`
measurement (`bench/large_store.py`).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import statistics
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
import pytest

from acx import rendering
from tests.integration.conftest import Gateway, Stack

pytestmark = pytest.mark.integration

STALL_BOUND_SECONDS = 0.3  # above the idle p95; the target, 0.1 s, is measured by `make bench`
ATTEMPTS = 3
LARGE = 1_200_000  # characters of payload: bodies just above the 1 MiB threshold


def _probe(url: str, stop: threading.Event, latencies: list[float]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get(url)
            latencies.append(time.perf_counter() - started)
            time.sleep(0.005)


def _probe_for(url: str, seconds: float) -> list[float]:
    stop, latencies = threading.Event(), list[float]()
    thread = threading.Thread(target=_probe, args=(url, stop, latencies))
    thread.start()
    time.sleep(seconds)
    stop.set()
    thread.join()
    return latencies


def _image_body(size: int) -> bytes:
    image = base64.b64encode(os.urandom(size)).decode()
    blob = {"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{image}"}}]}
    return json.dumps({"blob": blob}).encode()  # encoded before probing: the probe shares this process


@pytest.mark.timeout(300)
def test_a_31_mb_store_leaves_other_requests_answered(stack: Stack, http: httpx.Client) -> None:
    body = _image_body(23 * 1024 * 1024)
    health = f"{stack.base_url}/healthz"
    attempts: list[str] = []
    for _ in range(ATTEMPTS):
        session_id = http.post("/session").json()["data"]["id"]
        idle = _probe_for(health, 1.0)
        stop, during = threading.Event(), list[float]()
        thread = threading.Thread(target=_probe, args=(health, stop, during))
        thread.start()
        try:
            stored = http.post(
                f"/session/{session_id}/messages", content=body, headers={"Content-Type": "application/json"}
            )
        finally:
            stop.set()
            thread.join()
        assert stored.status_code == 201, stored.text[:200]
        noise = statistics.quantiles(idle, n=20)[-1]  # the probe's own p95 on an idle gateway
        worst = max(during)
        if worst <= STALL_BOUND_SECONDS + noise:
            return
        attempts.append(f"{worst:.3f} s (idle p95 {noise:.3f} s)")
    pytest.fail(f"/healthz waited longer than {STALL_BOUND_SECONDS} s during every store: {', '.join(attempts)}")


def _b64(size: int) -> str:
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


# One blob per format, of `size` characters of payload: images inline, and text with characters
# JSON escapes (quotes, newlines, non-ASCII) for the acontext one.
BLOBS: dict[str, Callable[[int], dict[str, Any]]] = {
    "openai": lambda n: {
        "role": "user",
        "content": [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(n)}"}}],
    },
    "anthropic": lambda n: {
        "role": "user",
        "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _b64(n)}}],
    },
    "gemini": lambda n: {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": _b64(n)}}]},
    "acontext": lambda n: {"role": "user", "parts": [{"type": "text", "text": 'é "q"\n' * (n // 7)}]},
}


def _stored_row(stack: Stack, message_id: str) -> tuple[str, str, str]:
    with psycopg.connect(stack.database_url) as conn:
        row = conn.execute("SELECT raw, parts, meta FROM messages WHERE id = %s", (uuid.UUID(message_id),)).fetchone()
    assert row is not None
    return str(row[0]), str(row[1]), str(row[2])


@pytest.mark.parametrize("size", [1_000, LARGE], ids=["small", "large"])
@pytest.mark.parametrize("fmt", list(BLOBS))
def test_a_store_keeps_the_blob_as_sent_and_reads_back_in_every_format(
    stack: Stack, http: httpx.Client, session_id: str, fmt: str, size: int
) -> None:
    blob = msgspec.json.encode(BLOBS[fmt](size))
    body = b'{"format": "%s", "meta": {"parts": [], "n": 1}, "blob": %s}' % (fmt.encode(), blob)
    stored = http.post(f"/session/{session_id}/messages", content=body, headers={"Content-Type": "application/json"})
    assert stored.status_code == 201, stored.text[:300]
    expected = rendering.ingest(fmt, msgspec.json.decode(blob), "{}")  # type: ignore[arg-type]
    assert expected.message is not None
    answer = stored.json()["data"]
    raw, parts, meta = _stored_row(stack, answer["id"])
    assert raw == blob.decode()  # the blob exactly as sent
    assert parts == str(expected.parts_json, "utf-8")  # what the small path stores for it
    assert meta == '{"parts": [], "n": 1}'
    assert answer["parts"] == msgspec.json.decode(rendering.acontext_body(expected.message))["parts"]
    assert (answer["role"], answer["meta"], answer["session_id"]) == ("user", {"parts": [], "n": 1}, session_id)
    for read_fmt in BLOBS:
        page = http.get(f"/session/{session_id}/messages", params={"format": read_fmt})
        assert page.status_code == 200, page.text[:300]
        assert page.json()["data"]["ids"] == [answer["id"]]
    same = http.get(f"/session/{session_id}/messages", params={"format": fmt}).json()["data"]["items"]
    if fmt != "acontext":
        assert same == [msgspec.json.decode(blob)]


def test_large_stores_chain_in_order_with_small_ones(stack: Stack, http: httpx.Client, session_id: str) -> None:
    url, headers = f"/session/{session_id}/messages", {"Content-Type": "application/json"}
    ids = []
    for size in (LARGE, 10, LARGE):
        body = msgspec.json.encode({"blob": BLOBS["openai"](size)})
        stored = http.post(url, content=body, headers=headers)
        assert stored.status_code == 201, stored.text[:300]
        ids.append(stored.json()["data"]["id"])
        assert stored.json()["data"]["parent_id"] == (ids[-2] if len(ids) > 1 else None)
    assert http.get(url).json()["data"]["ids"] == ids
    with psycopg.connect(stack.database_url) as conn:
        seqs = conn.execute(
            "SELECT seq FROM messages WHERE id = ANY(%s) ORDER BY seq", ([uuid.UUID(i) for i in ids],)
        ).fetchall()
    assert [row[0] for row in seqs] == [0, 1, 2]


def _padded(body: dict[str, Any], size: int) -> bytes:
    return json.dumps(body | {"padding": "x" * size}).encode()


def _bad_data_url(size: int) -> str:
    return f"data:image/png;base64,{_b64(size)}!!"


REJECTED: dict[str, Callable[[int], bytes]] = {
    "invalid_json": lambda n: _padded({"blob": {"role": "user", "content": "x"}}, n)[:-2],
    "invalid_format": lambda n: _padded({"format": "klingon", "blob": {"role": "user", "content": "x"}}, n),
    "invalid_body": lambda n: _padded({"format": "openai"}, n),
    "invalid_base64": lambda n: json.dumps(
        {"blob": {"role": "user", "content": [{"type": "image_url", "image_url": {"url": _bad_data_url(n)}}]}}
    ).encode(),
    "orphan_tool_result": lambda n: json.dumps(
        {"blob": {"role": "tool", "tool_call_id": "call_nobody", "content": "x" * n}}
    ).encode(),
}


@pytest.mark.parametrize("code", list(REJECTED))
def test_a_large_body_is_rejected_as_the_same_small_one(http: httpx.Client, code: str) -> None:
    answers = []
    for size in (100, LARGE):
        session_id = http.post("/session").json()["data"]["id"]
        body = REJECTED[code](size)
        answer = http.post(
            f"/session/{session_id}/messages", content=body, headers={"Content-Type": "application/json"}
        )
        answers.append((answer.status_code, answer.json()["data"]["error_code"]))
        assert http.get(f"/session/{session_id}/messages").json()["data"]["items"] == []  # nothing stored
    assert answers == [(400, code), (400, code)]


def test_a_large_idempotent_store_is_replayed_byte_for_byte(http: httpx.Client, session_id: str) -> None:
    body = msgspec.json.encode({"blob": BLOBS["openai"](LARGE)})
    headers = {"Content-Type": "application/json", "Idempotency-Key": f"large-{uuid.uuid4()}"}
    first = http.post(f"/session/{session_id}/messages", content=body, headers=headers)
    again = http.post(f"/session/{session_id}/messages", content=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(http.get(f"/session/{session_id}/messages").json()["data"]["ids"]) == 1


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _decode_workers(pid: int) -> list[int]:
    workers = []
    for child in _descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing" in cmdline and b"spawn_main" in cmdline:
            workers.append(child)
    return workers


@pytest.mark.timeout(180)
def test_a_killed_decode_worker_is_replaced_and_no_store_hangs(
    stack: Stack, dedicated_gateway: Callable[..., Gateway]
) -> None:
    gateway = dedicated_gateway()
    assert gateway.process.proc is not None
    body = msgspec.json.encode({"blob": BLOBS["openai"](LARGE)})
    with httpx.Client(base_url=gateway.api_url, headers=stack.auth(), timeout=60) as client:
        session_id = client.post("/session").json()["data"]["id"]
        url, headers = f"/session/{session_id}/messages", {"Content-Type": "application/json"}
        assert client.post(url, content=body, headers=headers).status_code == 201
        workers = _decode_workers(gateway.process.proc.pid)
        assert workers, "no decode worker process was started"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        first = client.post(url, content=body, headers=headers)
        # The pool may learn of the death before the store (replaced: 201) or during it (503, retry).
        assert first.status_code == 201 or (first.status_code, first.json()["data"]["error_code"]) == (
            503,
            "decoder_unavailable",
        ), first.text[:300]
        if first.status_code == 503:
            assert client.post(url, content=body, headers=headers).status_code == 201
        assert len(client.get(url).json()["data"]["ids"]) == 2
