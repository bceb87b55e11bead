"""User endpoints: list the project's users, count what one owns, delete one with everything it owns."""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from litestar import Controller, delete, get
from litestar.di import NamedDependency, Provide
from litestar.params import PathParameter, QueryParameter

from acx.db import users as store
from acx.limits import MAX_USER_CHARS, check_text
from acx_gateway.dependencies import Connection, ProjectId
from acx_gateway.envelope import Envelope, Reply, envelope, error_responses
from acx_gateway.params import Cursor, TimeDesc, is_true

__all__ = ["UserController", "UserResourceCounts", "UserResources", "provide_identifier"]

_LARGEST_PAGE: Final = 200

#: The identifier, checked by `provide_identifier`.
Identifier = NamedDependency[str]
#: The `{user}` path segment, percent-decoded once by routing.
UserPath = Annotated[str, PathParameter(description="The user identifier, percent-encoded as one path segment")]
ListLimit = Annotated[
    int, QueryParameter(ge=0, le=_LARGEST_PAGE, description="page size; absent or 0: the largest page (200)")
]


class UserResourceCounts(msgspec.Struct):
    """What a user owns. This service has no disks and no skills, so those are always 0."""

    sessions_count: int
    disks_count: int = 0
    skills_count: int = 0


class UserResources(msgspec.Struct):
    """`GET /user/{identifier}/resources` data."""

    counts: UserResourceCounts


def provide_identifier(user: UserPath) -> str:
    """The user identifier of the path, checked as `user` is at session creation.

    Routing has percent-decoded the segment once, as the SDK's `quote(identifier, safe="")`
    needs (`%40` → `@`, `%252F` → `%2F`). An identifier holding `/` cannot be addressed: its `%2F`
    reaches routing as a segment separator, as it does upstream.

    Raises:
        InvalidRequestError: holding NUL.
        TooLargeError: longer than MAX_USER_CHARS.
    """
    check_text("user identifier", user, MAX_USER_CHARS)
    return user


_USER_DEPENDENCIES = {"identifier": Provide(provide_identifier, sync_to_thread=False)}


class UserController(Controller):
    """`/user`: the project's users (created by `POST /session {"user": …}`)."""

    path = "/user"

    @get("/ls", responses=error_responses(400))
    async def list(
        self,
        project_id: ProjectId,
        conn: Connection,
        limit: ListLimit = 0,
        cursor: Cursor = None,
        time_desc: TimeDesc = None,
    ) -> Envelope[store.UserPage]:
        """The project's users in creation order, keyset-paginated.

        Upstream returns every user without `limit`; here that is the largest page, with
        `has_more` and `next_cursor` for the rest.
        """
        page = await store.list_users(
            conn, project_id, limit=limit or _LARGEST_PAGE, cursor=cursor or None, time_desc=is_true(time_desc)
        )
        return envelope(page)

    @get("/{user:str}/resources", dependencies=_USER_DEPENDENCIES, responses=error_responses(400, 404, 413))
    async def resources(
        self, project_id: ProjectId, conn: Connection, identifier: Identifier
    ) -> Envelope[UserResources]:
        """How many sessions the user owns (disks and skills: 0, this service has neither)."""
        sessions = await store.count_user_sessions(conn, project_id, identifier)
        return envelope(UserResources(UserResourceCounts(sessions_count=sessions)))

    @delete("/{user:str}", status_code=200, dependencies=_USER_DEPENDENCIES, responses=error_responses(400, 404, 413))
    async def remove(self, project_id: ProjectId, conn: Connection, identifier: Identifier) -> Reply:
        """Delete the user with its sessions, their messages, renderings, events and unshared files."""
        await store.delete_user(conn, project_id, identifier)
        return Reply()
