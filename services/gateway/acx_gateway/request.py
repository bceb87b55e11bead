"""The request class of the gateway: JSON bodies decoded by `acx.limits.decode_untrusted`, and
bodies that stop arriving answered instead of waited for.

Litestar decodes a `JSONBody` parameter with `Request.json()`, whose decoder lets invalid UTF-8
and deep nesting escape as `UnicodeDecodeError` / `RecursionError` (500s). Decoding through the
one untrusted-JSON function makes every such body a 400 with a code, as in the handlers that read
their body themselves.

Every body (JSON, multipart) is read through `stream()`. granian bounds how long a client may take
to send its header, not its body: a client that sends a header and part of a body and then falls
silent would hold its connection, and a slot of HTTP_MAX_CONNECTIONS, for ever. So each piece of
a body must arrive within HTTP_BODY_TIMEOUT_SECONDS of the one before (408 otherwise). And a client
that goes away mid-body is the client's doing: Litestar's `500 client disconnected prematurely`
becomes a 400, so no client can raise the server-error rate (a malformed chunked body did that).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from litestar import Request
from litestar.exceptions import InternalServerException
from litestar.types import Empty

from acx.errors import InvalidRequestError
from acx.limits import decode_untrusted
from acx_gateway.envelope import ApiError
from acx_gateway.state import gateway_state

__all__ = ["OFF_LOOP_ABOVE_BYTES", "GatewayRequest"]

#: Bodies larger than this are decoded in a worker thread: decoding (and walking) megabytes of JSON
#: takes long enough to hold every other request of the process.
OFF_LOOP_ABOVE_BYTES = 1 << 20

_DISCONNECTED = "client disconnected prematurely"  # Litestar's detail for an `http.disconnect` mid-body


class GatewayRequest(Request[Any, Any, Any]):
    """`Request` whose `json()` refuses hostile JSON with typed 400s and whose body reads are bounded."""

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

    async def stream(self) -> AsyncGenerator[bytes, None]:
        """The body's chunks, each awaited at most HTTP_BODY_TIMEOUT_SECONDS.

        Raises:
            ApiError: 408 `body_timeout`, the client stopped sending its body.
            InvalidRequestError: `client_disconnected`, the client went away mid-body.
        """
        timeout = gateway_state(self).settings.http_body_timeout_seconds
        chunks = super().stream()
        try:
            while True:
                try:
                    async with asyncio.timeout(timeout):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
                yield chunk
        except TimeoutError:
            raise ApiError(
                408, f"the request body stopped arriving (nothing for {timeout:g} s)", {"error_code": "body_timeout"}
            ) from None
        except InternalServerException as exc:
            if exc.detail != _DISCONNECTED:
                raise
            raise InvalidRequestError(
                "client_disconnected", "the client disconnected before sending its whole body"
            ) from None
        finally:
            await chunks.aclose()
