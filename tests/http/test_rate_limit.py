"""Per-project rate limiting on an in-process gateway with RATE_LIMIT_RPS=5, RATE_LIMIT_BURST=5:
429 with Retry-After, a budget per project, probes never limited. (Replicas sharing one budget
through Redis are tested with processes: tests/integration/test_rate_limiter.py.)"""

from __future__ import annotations

import asyncio
import time

import pytest

from acx.config import Settings
from tests.http._helpers import assert_error_response, assert_stamped, new_project_key, samples, total
from tests.http.conftest import BASE_URL, METRICS, StartGateway, as_project

RATE_RPS = 5
RATE_BURST = 5
REQUESTS = "acx_http_requests_total"


@pytest.mark.timeout(60)
async def test_rate_limit_per_project(start_gateway: StartGateway, settings: Settings, database_url: str) -> None:
    """The 6th immediate request is 429 with Retry-After; another project is unaffected; it recovers."""
    limited = await start_gateway(RATE_LIMIT_RPS=str(RATE_RPS), RATE_LIMIT_BURST=str(RATE_BURST))
    key_a = await new_project_key(settings, database_url, "rate-a")
    key_b = await new_project_key(settings, database_url, "rate-b")
    async with as_project(limited, key_a) as a, as_project(limited, key_b) as b:
        await a.get("/ping")  # warm the key cache, then let the bucket refill
        await b.get("/ping")
        await asyncio.sleep(1.2)
        started = time.monotonic()
        responses = [await a.get("/ping") for _ in range(2 * RATE_BURST)]
        elapsed = time.monotonic() - started
        statuses = [r.status_code for r in responses]
        assert statuses[:RATE_BURST] == [200] * RATE_BURST, statuses
        # GCRA: a burst of 5, plus one more request per 1/RATE_RPS seconds that elapsed meanwhile.
        assert statuses.count(200) <= RATE_BURST + int(elapsed * RATE_RPS), (statuses, elapsed)
        assert 429 in statuses, statuses
        throttled = responses[statuses.index(429)]
        assert_error_response(throttled, 429, "rate_limited")
        retry_after = int(throttled.headers["Retry-After"])
        assert 1 <= retry_after <= 2
        post_status = (await a.post("/session", json={})).status_code  # every route counts
        if time.monotonic() - started < 1 / RATE_RPS:  # nothing refilled yet (always, unless the host stalls)
            assert statuses[RATE_BURST] == 429, statuses  # the 6th immediate request
            assert post_status == 429

        assert (await b.get("/ping")).status_code == 200  # another project has its own budget
        assert (await a.get(f"{BASE_URL}/healthz")).status_code == 200  # probes unlimited

        await asyncio.sleep(retry_after)
        assert (await a.get("/ping")).status_code == 200
        sustained = []
        for _ in range(6):  # under the rate: never limited
            sustained.append((await a.get("/ping")).status_code)
            await asyncio.sleep(1.2 / RATE_RPS)
        assert sustained == [200] * 6


async def test_429_is_counted_as_429_and_carries_a_request_id(start_gateway: StartGateway) -> None:
    """Throttled requests are counted under 429 (never 500) and carry the request id and headers."""
    limited = await start_gateway(RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="2")
    before = samples(await limited.get(METRICS))
    responses = [await limited.get("/ping") for _ in range(6)]
    throttled = [response for response in responses if response.status_code == 429]
    assert throttled, [response.status_code for response in responses]
    for response in throttled:
        assert_error_response(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        assert_stamped(response)
    after = samples(await limited.get(METRICS))
    for status, added in (("429", len(throttled)), ("500", 0)):
        labels = {"route": "/api/v1/ping", "status": status}
        assert total(after, REQUESTS, **labels) - total(before, REQUESTS, **labels) == added, status
