"""A large stateless conversion must not hold the event loop: other requests are answered meanwhile.

One 27 MB `POST /convert` held the gateway's event loop for about 9 s: `/healthz` and every other
client of that process waited for it. The order of completion shows whether the loop was free.
Litestar's test client runs the app in a thread of its own and blocks the caller during each
request, so here the app runs in the test's own event loop, under httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from acx.config import Settings
from acx_gateway.app import create_app
from tests.http.conftest import ROOT_KEY


@asynccontextmanager
async def _in_this_loop(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a gateway running in this event loop, its lifespan too (entered and left in the
    same task: anyio's cancel scopes demand it, so not a fixture)."""
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar is an ASGI app; the types differ in detail
        headers = {"Authorization": f"Bearer {ROOT_KEY}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1", headers=headers) as api:
            yield api


def _conversation(turns: int) -> bytes:
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}: " + "hello world " * 20}
        for i in range(turns)
    ]
    return json.dumps({"from": "openai", "to": "gemini", "input": messages}).encode()


async def test_other_requests_are_answered_while_a_large_conversion_runs(settings: Settings) -> None:
    body = _conversation(30_000)  # about 8 MB: seconds of decoding and converting
    finished: list[str] = []

    async def convert(client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/convert", content=body, headers={"Content-Type": "application/json"}, timeout=120
        )
        assert response.status_code == 200, response.text[:200]
        assert len(response.json()["data"]["contents"]) == 30_000
        finished.append("convert")

    async def probe(client: httpx.AsyncClient) -> None:
        await asyncio.sleep(0.05)  # the conversion is under way by then
        response = await client.get("/ping")
        assert response.status_code == 200
        finished.append("ping")

    async with _in_this_loop(settings) as client:
        await asyncio.gather(convert(client), probe(client))
    assert finished == ["ping", "convert"]
