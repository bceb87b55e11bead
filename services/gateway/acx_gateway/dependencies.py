"""Dependency providers: what a handler declares instead of parsing the request itself.

    project_id         the caller's project (resolved by `BearerAuthMiddleware`), project-level routes
    session_ref        under `/session/{session}`: the caller's project, the session's id as answers
                       show it and its storage key (ids live per project: `acx.db.sessions.session_key`),
                       the one per-session provider
    paging             the page and edit parameters of a session read (`acx_gateway.pages`)
    keyset             `limit`, `cursor` and `time_desc` of another list of a session (events, tasks)
    conn               a pooled database connection, returned to the pool once the handler is done

Litestar resolves providers of the same depth concurrently in an anyio task group, which costs
about 130 µs a request (measured: more than a cached page read spends in its handler). So the
providers form a chain, session_ref (or project_id) → paging (or keyset) → conn, that Litestar
resolves one after another: each provider of `conn` follows the last key its routes have, without
using its value. And each provider costs ~4 µs (a signature model parsed per call), so a route
scope has one provider, not one per value: a store used to resolve three before its handler ran.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any, NamedTuple

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.params import PathParameter

from acx.db.pool import Conn
from acx.db.sessions import session_key
from acx_gateway.auth import project_id_of
from acx_gateway.pages import PageQuery, provide_page_query
from acx_gateway.params import Cursor, PageLimit, TimeDesc, is_true, parse_uuid
from acx_gateway.state import gateway_state

__all__ = [
    "API_DEPENDENCIES",
    "PAGE_DEPENDENCIES",
    "SESSION_DEPENDENCIES",
    "AddressedSession",
    "Connection",
    "Keyset",
    "KeysetQuery",
    "Paging",
    "ProjectId",
    "SessionPath",
    "SessionRef",
    "connection",
    "keyset_dependencies",
    "paged_connection",
    "provide_project_id",
    "provide_session_ref",
    "session_connection",
]

#: What handlers declare to receive a provider's value.
ProjectId = NamedDependency[uuid.UUID]
Paging = NamedDependency[PageQuery]
Connection = NamedDependency[Conn]

#: The path segment that names a session: `/session/{session:str}/…` (parsed by `provide_session_ref`).
SessionPath = Annotated[str, PathParameter(description="The session's UUID", schema_extra={"format": "uuid"})]


def provide_project_id(request: Request[Any, Any, Any]) -> uuid.UUID:
    """The project of the API key that authenticated the request."""
    return project_id_of(request)


class SessionRef(NamedTuple):
    """The session a `/session/{session}/…` route addresses, in the caller's project."""

    project_id: uuid.UUID
    #: The id as the client knows it: what answers show.
    id: uuid.UUID
    #: Its storage key (`acx.db.sessions.session_key`): what per-session queries take.
    key: uuid.UUID


AddressedSession = NamedDependency[SessionRef]


def provide_session_ref(request: Request[Any, Any, Any], session: SessionPath) -> SessionRef:
    """The session in the path; 400 `invalid session_id: … is not a UUID` as upstream."""
    project_id = project_id_of(request)
    public_id = parse_uuid("session_id", session)
    return SessionRef(project_id, public_id, session_key(project_id, public_id))


async def connection(request: Request[Any, Any, Any], project_id: ProjectId) -> AsyncIterator[Conn]:
    """A pooled connection for a project-level route (an exception in the handler rolls it back)."""
    async with gateway_state(request).pool.connection() as conn:
        yield conn


async def session_connection(request: Request[Any, Any, Any], session_ref: AddressedSession) -> AsyncIterator[Conn]:
    """A pooled connection for a per-session route (after `session_ref`, see the module doc)."""
    async with gateway_state(request).pool.connection() as conn:
        yield conn


async def paged_connection(request: Request[Any, Any, Any], paging: Paging) -> AsyncIterator[Conn]:
    """A pooled connection for a paged read (after `paging`, see the module doc)."""
    async with gateway_state(request).pool.connection() as conn:
        yield conn


class KeysetQuery(NamedTuple):
    """The query parameters of a keyset-paginated list of a session, parsed."""

    limit: int
    #: None when absent or empty.
    cursor: str | None
    time_desc: bool


Keyset = NamedDependency[KeysetQuery]


def keyset_dependencies(default_limit: int) -> dict[str, Provide]:
    """Providers of `keyset` (`limit` 1 to 200, `default_limit` when absent) and of `conn` after it."""

    def provide_keyset(
        session_ref: AddressedSession,  # resolved after it: see the module doc
        limit: PageLimit = default_limit,
        cursor: Cursor = None,
        time_desc: TimeDesc = None,
    ) -> KeysetQuery:
        return KeysetQuery(limit, cursor or None, is_true(time_desc))

    return {"keyset": Provide(provide_keyset, sync_to_thread=False), "conn": Provide(keyset_connection)}


async def keyset_connection(request: Request[Any, Any, Any], keyset: Keyset) -> AsyncIterator[Conn]:
    """A pooled connection for a keyset-paginated list (after `keyset`, see the module doc)."""
    async with gateway_state(request).pool.connection() as conn:
        yield conn


# The id providers are plain functions called on the event loop (`sync_to_thread=False`): they
# compute without I/O, and a coroutine per provider per request would cost more than they do.
#: On the `/api/v1` router.
API_DEPENDENCIES = {"project_id": Provide(provide_project_id, sync_to_thread=False), "conn": Provide(connection)}
#: On every Controller under `/session/{session}`.
SESSION_DEPENDENCIES = {
    "session_ref": Provide(provide_session_ref, sync_to_thread=False),
    "conn": Provide(session_connection),
}
#: On the handlers that read a page of a session.
PAGE_DEPENDENCIES = {"paging": Provide(provide_page_query, sync_to_thread=False), "conn": Provide(paged_connection)}
