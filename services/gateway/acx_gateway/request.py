"""The request class of the gateway: JSON bodies decoded by `acx.limits.decode_untrusted`.

Litestar decodes a `JSONBody` parameter with `Request.json()`, whose decoder lets invalid UTF-8
and deep nesting escape as `UnicodeDecodeError` / `RecursionError` (500s). Decoding through the
one untrusted-JSON function makes every such body a 400 with a code, as in the handlers that read
their body themselves.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.types import Empty

from acx.limits import decode_untrusted

__all__ = ["GatewayRequest"]


class GatewayRequest(Request[Any, Any, Any]):
    """`Request` whose `json()` refuses hostile JSON with typed 400s."""

    async def json(self) -> Any:
        """The decoded JSON body (`null` when empty), cached for the request.

        Raises:
            InvalidRequestError: see `acx.limits.decode_untrusted`.
        """
        state = self._connection_state
        if state.json is Empty:
            state.json = decode_untrusted(await self.body() or b"null")
        return state.json
