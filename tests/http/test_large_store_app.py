"""A large store in-process: the app's lifespan starts the decode worker with the first one and stops it."""

from __future__ import annotations

import multiprocessing

import msgspec

from acx.config import Settings
from tests.http.conftest import running


async def test_the_decode_worker_stops_with_the_app(settings: Settings) -> None:
    others = set(multiprocessing.active_children())
    blob = {"role": "user", "content": "é" * (1 << 20)}
    body = msgspec.json.encode({"blob": blob})
    async with running(settings) as client:
        assert not set(multiprocessing.active_children()) - others  # in-process apps start it lazily
        session_id = (await client.post("/session")).json()["data"]["id"]
        url = f"/session/{session_id}/messages"
        stored = await client.post(url, content=body, headers={"Content-Type": "application/json"})
        assert stored.status_code == 201, stored.text[:300]
        assert stored.headers["content-length"] == str(len(stored.content))
        assert stored.json()["data"]["parts"] == [{"type": "text", "text": blob["content"]}]
        assert set(multiprocessing.active_children()) - others
        items = (await client.get(url, params={"format": "openai"})).json()["data"]["items"]
        assert items == [blob]
    assert not set(multiprocessing.active_children()) - others
