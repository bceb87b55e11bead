"""Request metrics keep a bounded set of series whatever clients send.

The method label used to be the request's method verbatim: 2 000 unauthenticated requests with
made-up methods (`M00001 /x HTTP/1.1`) added 34 000 lines to `/metrics` (3 MB), for ever; a million
would exhaust the gateway's memory and any Prometheus scraping it.
"""

from __future__ import annotations

import uuid

from tests.http.conftest import Client

METRICS = "http://testserver.local/metrics"  # outside /api/v1, the client's base URL


async def test_made_up_methods_share_one_series(client: Client) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    for index in range(20):
        response = await client.request(f"X{tag}{index}", "/ping")
        assert response.status_code == 405
    exposition = (await client.get(METRICS)).text
    assert f"X{tag}" not in exposition
    assert 'method="other"' in exposition


async def test_real_methods_keep_their_names(client: Client, session_id: str) -> None:
    assert (await client.patch(f"/session/{session_id}/configs", json={"configs": {"a": 1}})).status_code == 200
    exposition = (await client.get(METRICS)).text
    assert 'method="PATCH"' in exposition
