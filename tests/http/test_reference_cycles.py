"""Requests on the hot paths leave no reference cycles behind.

An object in a cycle is freed only when the garbage collector runs, and each run walks every young
object: a request class that stored a bound method of itself (`self.receive = self._method`) made
every request 35 objects of such garbage and cost a store ~13 % of its CPU. The app is called
through ASGI directly here, so the test client's own objects cannot hide or add any.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from litestar import Litestar
from litestar.types import Message, ReceiveMessage

from tests.http._helpers import asgi_scope
from tests.http.conftest import ROOT_KEY, Client

REQUESTS = 20


async def _call(app: Litestar, method: str, path: str, body: bytes = b"", query: bytes = b"") -> int:
    """Status of one request sent straight to the ASGI app."""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] if body else []
    scope = asgi_scope(method, path, ROOT_KEY, headers, query=query)
    statuses: list[int] = []

    async def receive() -> ReceiveMessage:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)  # type: ignore[arg-type]  # a plain dict is the scope a server sends
    return statuses[0]


@contextmanager
def collector_saving_garbage() -> Iterator[list[object]]:
    """What the collector finds unreachable in the block, from the objects made in it."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[object] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def _send(app: Litestar, route: str, session_id: str, count: int) -> None:
    messages = f"/api/v1/session/{session_id}/messages"
    body = b'{"format": "openai", "blob": {"role": "user", "content": "hello"}}'
    for _ in range(count):
        if route == "ping":
            assert await _call(app, "GET", "/api/v1/ping") == 200
        elif route == "store":
            assert await _call(app, "POST", messages, body) == 201
        else:
            assert await _call(app, "GET", messages, query=b"format=anthropic") == 200


@pytest.mark.parametrize("route", ["ping", "store", "read"])
def test_a_request_leaves_no_cyclic_garbage(client: Client, app: Litestar, session_id: str, route: str) -> None:
    # On the loop the app runs on (the test client's portal): its pool's connections belong to it.
    client.blocking_portal.call(_send, app, route, session_id, 5)  # first-use caches are not garbage
    with collector_saving_garbage() as garbage:
        client.blocking_portal.call(_send, app, route, session_id, REQUESTS)
    # Fewer objects than requests: an occasional cycle of a background task may happen, one per request may not.
    assert len(garbage) < REQUESTS, sorted({type(item).__qualname__ for item in garbage})
