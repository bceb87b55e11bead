"""The request class of the gateway: JSON bodies decoded by `acx.limits.decode_untrusted`, and
bodies that stop arriving answered instead of waited for.

Litestar decodes a `JSONBody` parameter with `Request.json()`, whose decoder lets invalid UTF-8
and deep nesting escape as `UnicodeDecodeError` / `RecursionError` (500s). Decoding through the
one untrusted-JSON function makes every such body a 400 with a code, as in the handlers that read
their body themselves.

Every body (JSON, multipart) is read through the request's `receive`. granian bounds how long a
client may take to send its header, not its body: a client that sends a header and part of a body
and then falls silent would hold its connection, and a slot of HTTP_MAX_CONNECTIONS, for ever. So
each piece of a body must arrive within HTTP_BODY_TIMEOUT_SECONDS of the one before (408 otherwise).
And a client that goes away mid-body is the client's doing: an `http.disconnect` mid-body is a 400,
not Litestar's `500 client disconnected prematurely`, so no client can raise the server-error rate.

The waits are bounded by `BodyDeadlines`, one sweep a fraction of the timeout apart, rather than
by a timer per piece: `asyncio.timeout` around each `receive` cost a store ~24 % of its CPU in
process (a timer handle per piece, and the event loop's heap full of cancelled ten-second timers).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.types import Empty, Receive, ReceiveMessage, Scope

from acx.errors import InvalidRequestError
from acx.limits import decode_untrusted
from acx_gateway.envelope import ApiError

__all__ = ["OFF_LOOP_ABOVE_BYTES", "BodyDeadlines", "GatewayRequest", "raw_header"]

#: Bodies larger than this are decoded in a worker thread: decoding (and walking) megabytes of JSON
#: takes long enough to hold every other request of the process.
OFF_LOOP_ABOVE_BYTES = 1 << 20


def raw_header(scope: Scope, name: bytes) -> str | None:
    """The first header `name` (lower case) of a request, straight from the ASGI scope.

    `Request.headers` builds a multi-dict of every header first: a measurable part of a small
    request's cost when all a caller needs is one.
    """
    for header, value in scope["headers"]:
        if header.lower() == name:
            return value.decode("latin-1")
    return None


class BodyDeadlines:
    """Bounds each wait for a piece of a request body to `timeout` seconds (up to a quarter more).

    A request's task registers its deadline while it waits; `run()` sweeps the waiting tasks and
    cancels those past theirs, which `receive` turns into a 408.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._tick = min(1.0, timeout / 4)
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()

    async def run(self) -> None:
        """Cancel the waits past their deadline, every tick, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._tick)
            now = loop.time()
            for task in [task for task, deadline in self._waiting.items() if deadline <= now]:
                del self._waiting[task]
                self._expired.add(task)
                task.cancel()

    async def receive(self, receive: Receive) -> ReceiveMessage:
        """The next ASGI message of `receive`, within the timeout.

        Raises:
            ApiError: 408 `body_timeout`, the client stopped sending its body.
            InvalidRequestError: `client_disconnected`, the client went away mid-body.
        """
        task = asyncio.current_task()
        assert task is not None
        self._waiting[task] = asyncio.get_running_loop().time() + self.timeout
        try:
            message = await receive()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            task.uncancel()
            msg = f"the request body stopped arriving (nothing for {self.timeout:g} s)"
            raise ApiError(408, msg, {"error_code": "body_timeout"}) from None
        finally:
            self._waiting.pop(task, None)
        if message["type"] == "http.disconnect":
            raise InvalidRequestError("client_disconnected", "the client disconnected before sending its whole body")
        return message


class GatewayRequest(Request[Any, Any, Any]):
    """`Request` whose `json()` refuses hostile JSON with typed 400s and whose body reads are bounded."""

    _bounded = False

    def stream(self) -> AsyncGenerator[bytes, None]:
        """The body, piece by piece (Litestar's `stream`), each piece within the body timeout."""
        if not self._bounded:
            # Wrapped on the first read, so a request without a body pays nothing. A partial of the
            # app's deadlines, not a method of the request: `self.receive = self._method` made every
            # request a reference cycle (request -> bound method -> request), freed only by the
            # garbage collector, whose runs then took ~13 % of a store.
            deadlines: BodyDeadlines = self.scope["app"].state.gateway.body_deadlines
            self.receive = functools.partial(deadlines.receive, self.receive)
            self._bounded = True
        return super().stream()

    async def json(self) -> Any:
        """The decoded JSON body (`null` when empty), cached for the request.

        Raises:
            InvalidRequestError: see `acx.limits.decode_untrusted`.
        """
        state = self._connection_state
        if state.json is Empty:
            body = await self.body() or b"null"
            large = len(body) > OFF_LOOP_ABOVE_BYTES
            state.json = await asyncio.to_thread(decode_untrusted, body) if large else decode_untrusted(body)
        return state.json
