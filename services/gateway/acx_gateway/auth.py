"""Bearer-token authentication for `/api/v1` (acontext-api.md §1).

The token's HMAC (with the server pepper) is the project lookup key, so an unknown token costs one
indexed query and no slow hash. Results, positive and negative, are cached in-process briefly so a
hot client costs no query at all; a revoked or re-keyed token stops working within the TTL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from acx.apikeys import auth_secret, token_hmac
from acx.db.projects import project_by_token_hmac
from acx_gateway.envelope import ApiError
from acx_gateway.request import raw_header
from acx_gateway.state import GatewayState, gateway_state

__all__ = ["BearerAuthMiddleware", "project_id_of"]

_TTL_SECONDS = 30.0
_CACHE_MAX = 10_000


def _unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


class BearerAuthMiddleware(AbstractAuthenticationMiddleware):
    """Resolves `Authorization: Bearer sk-ac-…` to a project id stored as `scope["auth"]`."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = raw_header(connection.scope, b"authorization") or ""
        if not header.startswith("Bearer "):
            raise _unauthorized()
        token = header[len("Bearer ") :]
        state = gateway_state(connection)
        project_id = await _lookup(state, token)
        if project_id is None:
            raise _unauthorized()
        if state.limiter is not None:
            wait = await state.limiter.retry_after(project_id)
            if wait:
                raise ApiError(
                    429,
                    "rate limit exceeded, retry later",
                    {"error_code": "rate_limited"},
                    headers={"Retry-After": str(wait)},
                )
        return AuthenticationResult(user=None, auth=project_id)


async def _lookup(state: GatewayState, token: str) -> uuid.UUID | None:
    secret = auth_secret(token)
    if secret is None:
        return None
    # Keyed by the HMAC, not the token, so no bearer token is held in memory longer than a request.
    key = token_hmac(secret, state.settings.secret_pepper)
    now = time.monotonic()
    cached = state.tokens.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    # One lookup per key at a time: a herd arriving with its key not cached (3 000 stalled uploads,
    # or any burst as the entry expires) used to send one query per request, queue them all for the
    # pool and answer every project 503 once DB_POOL_TIMEOUT passed.
    lookup = state.token_lookups.get(key)
    if lookup is None:
        lookup = asyncio.create_task(_fetch(state, key))
        state.token_lookups[key] = lookup
        lookup.add_done_callback(lambda _: state.token_lookups.pop(key, None))
    # Shielded: a waiter that goes away does not cancel the lookup the others wait for.
    return await asyncio.shield(lookup)


async def _fetch(state: GatewayState, key: str) -> uuid.UUID | None:
    async with state.pool.connection() as conn:
        project_id = await project_by_token_hmac(conn, key)
    if len(state.tokens) >= _CACHE_MAX:
        state.tokens.clear()
    state.tokens[key] = (project_id, time.monotonic() + _TTL_SECONDS)
    return project_id


def project_id_of(connection: ASGIConnection[Any, Any, Any, Any]) -> uuid.UUID:
    """The authenticated project of a request."""
    project_id: uuid.UUID = connection.scope["auth"]
    return project_id
