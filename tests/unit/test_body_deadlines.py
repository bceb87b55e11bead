"""`BodyDeadlines`: each wait for a piece of a request body ends by its deadline, and only that wait.

Pure asyncio: the `receive` callables below play clients that answer, fall silent or go away.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from litestar.types import HTTPRequestEvent, ReceiveMessage

from acx.errors import InvalidRequestError
from acx_gateway.envelope import ApiError
from acx_gateway.request import BodyDeadlines

_PIECE: HTTPRequestEvent = {"type": "http.request", "body": b"{}", "more_body": False}
#: Generous: a guard against a hang, not a timing assertion.
_HANG_GUARD_SECONDS = 10.0


@pytest.fixture
async def deadlines() -> AsyncIterator[BodyDeadlines]:
    """Deadlines of 0.05 s, swept while the test runs."""
    bounded = BodyDeadlines(0.05)
    sweeps = asyncio.create_task(bounded.run())
    yield bounded
    sweeps.cancel()


async def _silent() -> ReceiveMessage:
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


async def _slow_piece() -> ReceiveMessage:
    await asyncio.sleep(0.01)
    return _PIECE


async def test_a_piece_that_arrives_in_time_is_returned(deadlines: BodyDeadlines) -> None:
    for _ in range(20):  # well past the timeout in total: the deadline is per piece
        assert await deadlines.receive(_slow_piece) == _PIECE


async def test_a_silent_client_is_408_body_timeout(deadlines: BodyDeadlines) -> None:
    async def wait() -> tuple[ApiError, int]:
        try:
            await deadlines.receive(_silent)
        except ApiError as exc:
            task = asyncio.current_task()
            assert task is not None
            return exc, task.cancelling()
        raise AssertionError("no 408")

    error, cancelling = await asyncio.wait_for(asyncio.create_task(wait()), _HANG_GUARD_SECONDS)
    assert error.status == 408
    assert error.data == {"error_code": "body_timeout"}
    assert "0.05 s" in error.msg
    assert cancelling == 0  # the sweep's cancellation was taken back: the handler goes on to answer


async def test_a_client_gone_mid_body_is_client_disconnected(deadlines: BodyDeadlines) -> None:
    async def gone() -> ReceiveMessage:
        return {"type": "http.disconnect"}

    with pytest.raises(InvalidRequestError) as raised:
        await deadlines.receive(gone)
    assert raised.value.code == "client_disconnected"


async def test_only_the_wait_past_its_deadline_ends(deadlines: BodyDeadlines) -> None:
    silent = asyncio.create_task(deadlines.receive(_silent))
    steady = asyncio.create_task(_pieces(deadlines, 20))
    with pytest.raises(ApiError):
        await asyncio.wait_for(silent, _HANG_GUARD_SECONDS)
    assert await asyncio.wait_for(steady, _HANG_GUARD_SECONDS) == 20


async def test_another_cancellation_is_not_turned_into_a_408(deadlines: BodyDeadlines) -> None:
    waiting = asyncio.create_task(deadlines.receive(_silent))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def _pieces(deadlines: BodyDeadlines, count: int) -> int:
    for _ in range(count):
        await deadlines.receive(_slow_piece)
    return count
