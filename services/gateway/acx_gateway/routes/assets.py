"""Asset downloads: authenticated per session, and public signed material URLs."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, QueryParameter

from acx import material
from acx.db.assets import get_asset, session_asset
from acx.db.sessions import require_session
from acx.errors import InvalidRequestError, NotFoundError
from acx_gateway.dependencies import SESSION_DEPENDENCIES, AddressedSession, Connection
from acx_gateway.envelope import error_responses
from acx_gateway.material_response import file_response
from acx_gateway.state import gateway_state

__all__ = ["AssetController", "public_material"]

# Matched with fullmatch: `$` would also match before a trailing newline ("assets/<hash>\n").
_ASSET_KEY = re.compile(r"assets/([0-9a-f]{64})")
# Documented, not enforced by Litestar: a key of no asset is a 404 like a missing one.
_KEY_SCHEMA = {"pattern": f"^{_ASSET_KEY.pattern}$"}


class AssetController(Controller):
    """`/session/{session}/asset`."""

    path = "/session/{session:str}/asset"
    dependencies = SESSION_DEPENDENCIES

    @get("/download", media_type="application/octet-stream", responses=error_responses(400, 404))
    async def download(
        self,
        session_ref: AddressedSession,
        conn: Connection,
        s3_key: Annotated[
            str | None, QueryParameter(description="`asset.s3_key` of a part", schema_extra=_KEY_SCHEMA)
        ] = None,
    ) -> Response[bytes]:
        """The bytes of an asset used in this session (`s3_key` as in a part's `asset`), as a download."""
        if not s3_key:
            raise InvalidRequestError("invalid_parameter", "s3_key is required")
        match = _ASSET_KEY.fullmatch(s3_key)
        await require_session(conn, session_ref.project_id, session_ref.key)
        asset = await session_asset(conn, session_ref.project_id, session_ref.key, match[1]) if match else None
        if asset is None:
            raise NotFoundError("asset_not_found", "asset not found")
        return file_response(asset.data, "application/octet-stream", inline=False)


def _material_not_found() -> NotFoundError:
    return NotFoundError("material_not_found", "material not found")


@get("/api/v1/material/{token:str}", security=[], responses=error_responses(400, 404, public=True))
async def public_material(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[bytes]:
    """An asset through a signed, expiring public URL (no API key)."""
    state = gateway_state(request)
    granted = material.verify(token, state.settings.secret_pepper)
    if granted is None:
        raise _material_not_found()
    async with state.pool.connection() as conn:
        asset = await get_asset(conn, granted.project_id, granted.sha256)
    if asset is None:
        raise _material_not_found()
    return file_response(asset.data, asset.mime)
