"""Asset downloads: authenticated per session, and public signed material URLs."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, get

from acx import material
from acx.db.assets import get_asset, session_asset
from acx.db.sessions import require_session
from acx.errors import InvalidRequestError, NotFoundError
from acx_gateway.auth import project_id_of
from acx_gateway.params import parse_uuid
from acx_gateway.routes._common import gateway_state

__all__ = ["download_asset", "public_material"]

_ASSET_KEY = re.compile(r"^assets/([0-9a-f]{64})$")


def _asset_not_found() -> NotFoundError:
    return NotFoundError("asset_not_found", "asset not found")


@get("/session/{session_id:str}/asset/download")
async def download_asset(
    request: Request[Any, Any, Any], session_id: str, s3_key: str | None = None
) -> Response[bytes]:
    """The bytes of an asset used in this session (`s3_key` as in a part's `asset`)."""
    sid = parse_uuid("session_id", session_id)
    if not s3_key:
        raise InvalidRequestError("invalid_parameter", "s3_key is required")
    match = _ASSET_KEY.match(s3_key)
    state = gateway_state(request)
    async with state.pool.connection() as conn:
        await require_session(conn, project_id_of(request), sid)
        asset = await session_asset(conn, project_id_of(request), sid, match[1]) if match else None
    if asset is None:
        raise _asset_not_found()
    return Response(asset.data, media_type="application/octet-stream")


@get("/api/v1/material/{token:str}")
async def public_material(request: Request[Any, Any, Any], token: str) -> Response[bytes]:
    """An asset through a signed, expiring public URL (no API key)."""
    granted = material.verify(token, gateway_state(request).settings.secret_pepper)
    if granted is None:
        raise NotFoundError("material_not_found", "material not found")
    async with gateway_state(request).pool.connection() as conn:
        asset = await get_asset(conn, granted.project_id, granted.sha256)
    if asset is None:
        raise NotFoundError("material_not_found", "material not found")
    return Response(asset.data, media_type=asset.mime)
