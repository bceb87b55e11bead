"""Project endpoints: the project's own configs object."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, get, patch
from litestar.params import JSONBody

from acx.db import projects as store
from acx.errors import InvalidRequestError
from acx.limits import MAX_OBJECT_BYTES, check_object_keys
from acx_gateway.dependencies import Connection, ProjectId
from acx_gateway.envelope import Envelope, envelope, error_responses
from acx_gateway.routes._common import reject_nul

__all__ = ["ProjectController"]


class ProjectController(Controller):
    """`/project`: settings of the caller's project."""

    path = "/project"

    @get("/configs", responses=error_responses())
    async def get_configs(self, project_id: ProjectId, conn: Connection) -> Envelope[dict[str, Any]]:
        """The project's configs object (`{}` until something is set)."""
        return envelope(await store.project_configs(conn, project_id))

    @patch("/configs", responses=error_responses(400, 413))
    async def patch_configs(
        self, project_id: ProjectId, conn: Connection, data: JSONBody[dict[str, Any] | None] = None
    ) -> Envelope[dict[str, Any]]:
        """Shallow-merge the body's keys into the configs (a null value deletes its key); answer the result."""
        if not data:
            raise InvalidRequestError("invalid_body", "the body must be a JSON object naming the config keys to merge")
        check_object_keys("configs", data)
        reject_nul("configs", msgspec.json.encode(data))
        # The limit of session configs, applied to the merged result.
        return envelope(await store.merge_project_configs(conn, project_id, data, max_bytes=MAX_OBJECT_BYTES))
