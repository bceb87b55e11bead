"""Request bodies that never arrive whole: a client that disconnects mid-body, and one that stalls.

Driven through the ASGI interface directly, since a test client always sends whole bodies: the
`receive` callable below plays a client that sends one chunk and then goes away or falls silent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from acx_gateway.app import create_app
from tests.http._helpers import asgi_scope
from tests.http.conftest import ROOT_KEY, Client, settings_with

Receive = Callable[[], Awaitable[dict[str, Any]]]


def _first_chunk_then(after: dict[str, Any] | None) -> Receive:
    """A client that sends the start of a body, then `after` (None: nothing ever again)."""
    sent: list[bool] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            sent.append(True)
            return {"type": "http.request", "body": b'{"type": "t", "da', "more_body": True}
        if after is None:
            await asyncio.Event().wait()  # a stalled client: no byte, no disconnect
        assert after is not None
        return after

    return receive


async def _call(app: Litestar, method: str, path: str, receive: Receive) -> tuple[int, dict[str, str], Any]:
    """Run one request through the app; its status, headers and JSON body."""
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
    await asyncio.wait_for(app(asgi_scope(method, path, ROOT_KEY, headers), receive, send), timeout=30)  # type: ignore[arg-type]
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, json.loads(body)


@pytest.mark.parametrize(
    ("method", "route"),
    [("POST", "/session/{sid}/events"), ("POST", "/session/{sid}/messages"), ("PATCH", "/session/{sid}/configs")],
)
async def test_a_client_gone_mid_body_is_not_a_server_error(
    client: Client, app: Litestar, session_id: str, method: str, route: str
) -> None:
    """Used to be `500 client disconnected prematurely`, counted as a server error (any client could
    fake a 5xx alert with a malformed chunked body)."""
    path = "/api/v1" + route.format(sid=session_id)
    status, headers, body = await _call(app, method, path, _first_chunk_then({"type": "http.disconnect"}))
    assert status == 400, body
    assert body["data"]["error_code"] == "client_disconnected"
    assert "x-request-id" in headers
    assert (await client.get(f"/session/{session_id}/events")).json()["data"]["items"] == []


@pytest.fixture(scope="module")
async def impatient(database_url: str, redis_url: str) -> AsyncIterator[tuple[Litestar, Client]]:
    """A gateway that waits 0.2 s for the next piece of a request body."""
    settings = settings_with(database_url, redis_url, HTTP_BODY_TIMEOUT_SECONDS="0.2")
    app = create_app(settings)
    async with AsyncTestClient(app, base_url="http://testserver.local/api/v1") as test_client:
        test_client.headers["Authorization"] = f"Bearer {ROOT_KEY}"
        yield app, test_client


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("POST", "/session/{sid}/events"),
        ("POST", "/session/{sid}/messages"),
        ("PATCH", "/session/{sid}/configs"),
        ("POST", "/session"),
        ("POST", "/convert"),
    ],
)
async def test_a_stalled_body_is_408_after_the_body_timeout(
    impatient: tuple[Litestar, Client], method: str, route: str
) -> None:
    """A client that sends headers and part of a body, then nothing, used to hold its connection
    (and a slot of HTTP_MAX_CONNECTIONS) for ever: 10 000 of them locked a worker."""
    app, api = impatient
    session_id = (await api.post("/session", json={})).json()["data"]["id"]
    status, headers, body = await _call(app, method, "/api/v1" + route.format(sid=session_id), _first_chunk_then(None))
    assert status == 408, body
    assert body["code"] == 408
    assert body["data"]["error_code"] == "body_timeout"
    assert "x-request-id" in headers
    assert (await api.get(f"/session/{session_id}/events")).json()["data"]["items"] == []
