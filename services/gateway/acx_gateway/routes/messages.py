"""Message endpoints: store one message, read a page of a session in any format."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import Provide

from acx import codecs, material, metrics, rendering
from acx.assets import Upload, attach_uploads
from acx.config import Settings
from acx.db import events as event_store
from acx.db import messages as store
from acx.db.assets import assets_of_messages
from acx.db.message_writes import IdempotentWrite, Replayed, StoredMessage, StoreRequest
from acx.errors import InvalidRequestError, TooLargeError
from acx_gateway.auth import project_id_of
from acx_gateway.envelope import envelope_bytes, json_response, ok
from acx_gateway.idempotency import idempotency_key, replay_response, request_fingerprint
from acx_gateway.pages import PageQuery, PublicUrl, build_page, edit_page, provide_page_query, read_session_page
from acx_gateway.params import parse_bool, parse_choice, parse_uuid
from acx_gateway.routes._common import decode_body, decode_json, gateway_state
from acx_gateway.uploads import is_multipart, read_multipart, uploads_for

__all__ = ["MessageController"]

_META_MAX_BYTES = 64 * 1024
_encoder = msgspec.json.Encoder()


class StoreMessageBody(msgspec.Struct):
    """`POST /session/{id}/messages` JSON body. `blob` and `meta` stay raw so they persist as sent."""

    blob: msgspec.Raw = msgspec.Raw(b"")
    format: str | None = None
    meta: msgspec.Raw = msgspec.Raw(b"")


class StoredMessageOut(msgspec.Struct):
    """The store response (`Message` in the SDKs)."""

    id: uuid.UUID
    session_id: uuid.UUID
    parent_id: uuid.UUID | None
    role: str
    meta: msgspec.Raw
    parts: list[dict[str, Any]]
    session_task_process_status: str
    created_at: datetime
    updated_at: datetime
    task_id: None = None


def _format(value: str | None) -> codecs.Format:
    return parse_choice("format", value, codecs.FORMATS, "openai")  # type: ignore[return-value]


def _meta_json(meta: msgspec.Raw) -> str:
    if not meta or bytes(meta) == b"null":
        return "{}"
    if len(meta) > _META_MAX_BYTES:
        raise TooLargeError("meta_too_large", "meta size exceeds 64KB limit")
    if not isinstance(msgspec.json.decode(meta), dict):
        raise InvalidRequestError("invalid_body", "meta must be a JSON object")
    return bytes(meta).decode()


def _public_urls(settings: Settings, project_id: uuid.UUID, hashes: list[str]) -> dict[str, PublicUrl]:
    urls = {}
    for sha256 in hashes:
        token, expires_at = material.mint(project_id, sha256, settings.secret_pepper)
        urls[sha256] = PublicUrl(
            url=f"{settings.base_url}/api/v1/material/{token}", expire_at=datetime.fromtimestamp(expires_at, UTC)
        )
    return urls


def _stored_out(stored: StoredMessage, meta_json: str) -> StoredMessageOut:
    message = stored.message
    return StoredMessageOut(
        id=stored.id,
        session_id=stored.session_id,
        parent_id=stored.parent_id,
        role=codecs.acontext_role(message),
        meta=msgspec.Raw(meta_json.encode()),
        parts=codecs.render_acontext_parts(message),
        session_task_process_status=stored.task_status,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def _stored_body(meta_json: str, stored: StoredMessage) -> bytes:
    """The 201 envelope of a store, as recorded for its Idempotency-Key."""
    return envelope_bytes(_stored_out(stored, meta_json))


class MetaBody(msgspec.Struct):
    """`PATCH …/messages/{message_id}/meta` body."""

    meta: dict[str, Any] | None = None


class MessageController(Controller):
    """`/session/{id}/messages` resource."""

    path = "/session/{session_id:str}/messages"

    @post("/", status_code=201)
    async def store(self, request: Request[Any, Any, Any], session_id: str) -> Response[bytes]:
        """Validate, normalise and persist one message; queue its rendering."""
        sid = parse_uuid("session_id", session_id)
        state = gateway_state(request)
        files: dict[str, Upload] = {}
        if is_multipart(request):
            payload, files = await read_multipart(request, state.settings.max_upload_bytes)
            body = decode_json(payload, StoreMessageBody)
        else:
            body = await decode_body(request, StoreMessageBody)
        fmt = _format(body.format)
        if not body.blob:
            raise InvalidRequestError("invalid_body", "blob is required")
        meta_json = _meta_json(body.meta)
        blob = msgspec.json.decode(body.blob)
        raw = bytes(body.blob).decode()
        uploads = uploads_for(fmt, blob, files)
        by_field = {upload.field: upload for upload in uploads}
        prepare = (lambda message: attach_uploads(message, by_field)) if uploads else None
        key = idempotency_key(request)
        idempotent = (
            None
            if key is None
            else IdempotentWrite(key, await request_fingerprint(request), functools.partial(_stored_body, meta_json))
        )
        store_request = StoreRequest(
            project_id_of(request),
            sid,
            fmt,
            raw,
            meta_json,
            functools.partial(rendering.ingest, fmt, blob, prepare=prepare),
            uploads,
            request.scope.get("state", {}).get("request_id"),
            idempotent,
        )
        # The batcher queues the render job once committed.
        stored = await state.batcher.store(store_request)
        if isinstance(stored, Replayed):
            return replay_response(stored.response)
        metrics.MESSAGES_STORED.labels(fmt).inc()
        if stored.recorded is not None:
            return json_response(stored.recorded, 201)
        return ok(_stored_out(stored, meta_json), status=201)

    @get("/", dependencies={"paging": Provide(provide_page_query)})
    async def list(
        self,
        request: Request[Any, Any, Any],
        session_id: str,
        paging: PageQuery,
        format: str | None = None,
        with_asset_public_url: str | None = None,
        with_events: str | None = None,
    ) -> Response[bytes]:
        """A page of the session rendered in `format`, items aligned with `ids` and `metas`."""
        sid = parse_uuid("session_id", session_id)
        fmt = _format(format)
        public_urls = parse_bool("with_asset_public_url", with_asset_public_url, True) and fmt == "acontext"
        events = parse_bool("with_events", with_events, False)
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            page = await read_session_page(conn, project_id_of(request), sid, fmt, paging)
            hashes = await assets_of_messages(conn, [row.id for row in page.rows]) if public_urls and page.rows else []
            page_events = (
                await event_store.events_between(conn, sid, page.rows[0].created_at, page.rows[-1].created_at)
                if events and page.rows
                else None
            )
        entries, edit_at = edit_page(page.rows, paging)
        data = build_page(sid, fmt, entries, page, edit_at)
        data.events = page_events
        if hashes:
            data.public_urls = _public_urls(state.settings, project_id_of(request), hashes)
        return json_response(_encoder.encode({"code": 0, "msg": "", "data": data}))

    @patch("/{message_id:str}/meta")
    async def patch_meta(self, request: Request[Any, Any, Any], session_id: str, message_id: str) -> Response[bytes]:
        """Shallow-merge a message's user meta (null deletes a key); returns the whole meta."""
        sid = parse_uuid("session_id", session_id)
        mid = parse_uuid("message_id", message_id)
        body = await decode_body(request, MetaBody)
        if body.meta is None:
            raise InvalidRequestError("invalid_body", "meta is required and must be an object")
        encoded = msgspec.json.encode(body.meta)
        if len(encoded) > _META_MAX_BYTES:
            raise TooLargeError("meta_too_large", "meta size exceeds 64KB limit")
        state = gateway_state(request)
        async with state.pool.connection() as conn:
            meta = await store.patch_user_meta(conn, project_id_of(request), sid, mid, body.meta)
        return ok({"meta": meta})
