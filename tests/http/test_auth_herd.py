"""A herd of requests with one key costs one key lookup, not one per request.

3 000 concurrent requests of one client arriving with its key not (or no longer) cached each
looked the key up: 3 000 queries queued for 16 pooled connections, and after DB_POOL_TIMEOUT
every request of every project answered `503 database unavailable`. The app runs in the test's own
event loop (httpx's ASGI transport) so the requests really are concurrent.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from litestar import Litestar

from acx.config import Settings
from acx.db.projects import project_by_token_hmac
from acx_gateway import auth
from acx_gateway.app import create_app
from acx_gateway.state import GatewayState
from tests.http.conftest import ROOT_KEY


async def _herd(app: Litestar, key: str, size: int) -> list[int]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar is an ASGI app
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1", headers=headers) as api:
        responses = await asyncio.gather(*(api.get("/ping") for _ in range(size)))
    return [response.status_code for response in responses]


@pytest.mark.parametrize("key", [ROOT_KEY, f"sk-ac-unknown-{uuid.uuid4().hex}"])
async def test_a_herd_with_one_key_looks_it_up_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    lookups: list[str] = []

    async def counted(conn: object, token_hmac: str) -> uuid.UUID | None:
        lookups.append(token_hmac)
        return await project_by_token_hmac(conn, token_hmac)  # type: ignore[arg-type]  # a pooled connection

    monkeypatch.setattr(auth, "project_by_token_hmac", counted)
    app = create_app(settings)
    async with app.lifespan():
        state: GatewayState = app.state.gateway
        state.tokens.clear()
        statuses = await _herd(app, key, 200)
    assert set(statuses) == ({200} if key == ROOT_KEY else {401})
    assert len(lookups) == 1
