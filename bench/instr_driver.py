"""One build's gateway app, in process, answering one workload for `bench.instructions` under callgrind.

    python bench/instr_driver.py <checkout> <database_url> <redis_url> <workload> <requests>

Run as a file with the build's own interpreter, so it imports that build's `acx`/`acx_gateway` (the
checkout's source folders go first on `sys.path`); it uses only what every build has:
`create_app(settings)`, `load_settings(mapping)` and the app's `lifespan()`. Requests are sent one
at a time straight to the ASGI app (no socket, no server, no concurrency), so the count is the same
on every run. After the warm-up it prints READY and waits for a line on stdin (the caller zeroes
callgrind's counters meanwhile); after the measured requests it prints DONE and waits for another
(the caller dumps them).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import sys
from collections.abc import Awaitable, Callable
from typing import Any

ROOT_KEY = b"sk-ac-your-root-api-bearer-token"
WARM_UP = 20
PAGE_MESSAGES = 100


def http_scope(method: str, path: str, body: bytes = b"", query: bytes = b"") -> dict[str, Any]:
    """The scope a server sends for an authenticated request (also `bench.stack_cost`'s)."""
    headers = [(b"host", b"127.0.0.1:8000"), (b"authorization", b"Bearer " + ROOT_KEY), (b"user-agent", b"wrk")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {},
    }


async def _call(app: Any, method: str, path: str, body: bytes = b"", query: bytes = b"") -> bytes:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(http_scope(method, path, body, query), receive, send)
    if sent[0]["status"] not in (200, 201):
        raise RuntimeError(f"{method} {path}: {sent[0]['status']} {sent[1:]}")
    return b"".join(message.get("body", b"") for message in sent[1:])


def _message(number: int) -> bytes:
    """The store of `bench/wrk/store.lua`: an OpenAI text message with a meta object."""
    role = b"user" if number % 2 else b"assistant"
    return (
        b'{"format":"openai","blob":{"role":"%s","content":"Message %d from thread 0: what is the weather '
        b'in Paris tomorrow, and should I pack an umbrella for the afternoon walk along the Seine?"},'
        b'"meta":{"bench":true,"n":%d}}' % (role, number, number)
    )


async def _wait_for_the_caller() -> None:
    # Polled, not a blocking read: callgrind acts on `callgrind_control` only while the process runs
    # code, so a process asleep in read() would take its zero or dump late (or at exit: with the
    # shutdown counted in). The loop wakes every 50 ms meanwhile; a few wake-ups per run are noise.
    while not select.select([sys.stdin], [], [], 0)[0]:  # noqa: ASYNC110 - see above
        await asyncio.sleep(0.05)
    sys.stdin.readline()


async def run(app: Any, workload: str, requests: int) -> None:
    """Set up, warm up, then answer `requests` requests of `workload` between the two signals."""
    async with app.lifespan():
        created = [json.loads(await _call(app, "POST", "/api/v1/session", b"{}")) for _ in range(8)]
        sessions = [item["data"]["id"] for item in created]
        page = f"/api/v1/session/{sessions[0]}/messages"
        for number in range(PAGE_MESSAGES if workload.startswith("page_") else 0):
            await _call(app, "POST", page, _message(number))
        numbers = iter(range(PAGE_MESSAGES, 10**9))

        def store() -> Awaitable[bytes]:
            number = next(numbers)
            return _call(app, "POST", f"/api/v1/session/{sessions[1 + number % 7]}/messages", _message(number))

        workloads: dict[str, Callable[[], Awaitable[bytes]]] = {
            "api_ping": lambda: _call(app, "GET", "/api/v1/ping"),
            "store": store,
            "page_openai": lambda: _call(app, "GET", page, query=b"format=openai&limit=100"),
            "page_anthropic": lambda: _call(app, "GET", page, query=b"format=anthropic&limit=100"),
        }
        send = workloads[workload]
        for _ in range(WARM_UP):
            await send()
        await asyncio.sleep(0.5)  # background tasks of the warm-up (batcher, conversion queue) settle
        print("READY", flush=True)
        await _wait_for_the_caller()
        for _ in range(requests):
            await send()
        print("DONE", flush=True)
        await _wait_for_the_caller()


def main() -> None:
    """Import the build given on the command line and run the workload."""
    checkout, database_url, redis_url, workload, requests = sys.argv[1:6]
    for folder in ("shared", "services/converter", "services/gateway"):
        sys.path.insert(0, os.path.join(checkout, folder))
    from acx.config import load_settings  # noqa: PLC0415 - the build's own, once it is on sys.path
    from acx_gateway.app import create_app  # noqa: PLC0415

    logging.disable(logging.WARNING)
    settings = load_settings(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RATE_LIMIT_RPS": "0",
            "SECRET_PEPPER": "bench-pepper-not-a-secret",
            "LOG_LEVEL": "WARNING",
        }
    )
    import uvloop  # noqa: PLC0415 - the loop granian runs the app on

    uvloop.run(run(create_app(settings), workload, int(requests)))


if __name__ == "__main__":
    main()
