"""Message endpoints: store one message, read a page of a session in any format."""

from __future__ import annotations

import asyncio
import functools
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import JSONBody, PathParameter, QueryParameter
from litestar.response import Stream

from acx import codecs, material, metrics, rendering
from acx.assets import Upload, attach_uploads
from acx.config import Settings
from acx.db import events as event_store
from acx.db import messages as store
from acx.db.assets import assets_of_messages
from acx.db.message_writes import IdempotentWrite, Replayed, StoredMessage, StoreRequest, decoded_elsewhere
from acx.errors import InvalidRequestError
from acx.limits import check_object_keys, check_object_size, decode_untrusted
from acx_gateway.decode_pool import LargeStore, answer_chunks
from acx_gateway.dependencies import (
    PAGE_DEPENDENCIES,
    SESSION_DEPENDENCIES,
    AddressedSession,
    Connection,
    Paging,
    SessionRef,
)
from acx_gateway.envelope import JSON, Envelope, envelope, envelope_bytes, error_responses, json_response
from acx_gateway.idempotency import idempotency_key, replay_response, request_fingerprint
from acx_gateway.large_bodies import StoreMessageBody, meta_json, parse_format
from acx_gateway.pages import MessagesPage, PublicUrl, build_page, edit_page, read_session_page
from acx_gateway.params import AcceptsIdempotencyKey, FormatQuery, GoBool, is_true, parse_uuid
from acx_gateway.routes._common import decode_json
from acx_gateway.state import GatewayState, gateway_state
from acx_gateway.uploads import form_fingerprint, is_multipart, read_multipart, uploads_for

__all__ = ["MessageController", "MessageMetaController", "MetaResult", "StoredMessageOut"]


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


# Above this, a JSON body is decoded in another process (`acx_gateway.decode_pool`), and a
# multipart payload in a thread: megabytes decoded here would stall every request of the process.
LARGE_BODY_BYTES = 1 << 20


def _decoded(blob: msgspec.Raw) -> tuple[Any, str]:
    data = bytes(blob)
    return decode_untrusted(data, name="blob"), data.decode()


async def _decode_blob(blob: msgspec.Raw) -> tuple[Any, str]:
    """The decoded blob (see `acx.limits.decode_untrusted`) and its text, off the event loop when large."""
    if len(blob) > LARGE_BODY_BYTES:
        return await asyncio.to_thread(_decoded, blob)
    return _decoded(blob)


def _public_urls(settings: Settings, project_id: uuid.UUID, hashes: list[str]) -> dict[str, PublicUrl]:
    urls = {}
    for sha256 in hashes:
        token, expires_at = material.mint(project_id, sha256, settings.secret_pepper)
        urls[sha256] = PublicUrl(
            url=f"{settings.base_url}/api/v1/material/{token}", expire_at=datetime.fromtimestamp(expires_at, UTC)
        )
    return urls


def _stored_out(stored: StoredMessage, meta: str, session_id: uuid.UUID, role: str | None = None) -> StoredMessageOut:
    """The answer to a store; without the decoded message (`role` given), with empty `parts`."""
    message = stored.message
    return StoredMessageOut(
        id=stored.id,
        session_id=session_id,  # the public id: `stored.session_id` is the storage key
        parent_id=stored.parent_id,
        role=codecs.acontext_role(message) if message is not None else role or "",
        meta=msgspec.Raw(meta.encode()),
        parts=codecs.encode_acontext_parts(message) if message is not None else [],
        session_task_process_status=stored.task_status,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
    )


def _stored_body(meta: str, session_id: uuid.UUID, stored: StoredMessage) -> bytes:
    """The 201 envelope of a store, as recorded for its Idempotency-Key."""
    return envelope_bytes(_stored_out(stored, meta, session_id))


def large_answer_frame(stored: StoredMessage, meta: str, session_id: uuid.UUID, role: str) -> tuple[bytes, bytes]:
    """The 201 envelope of a store decoded elsewhere, split where its `parts` go."""
    body = envelope_bytes(_stored_out(stored, meta, session_id, role))
    # The last one: `meta` (before `parts`) is the client's JSON and may hold the same text.
    at = body.rindex(b'"parts":[]') + len(b'"parts":')
    return body[:at], body[at + 2 :]


def _large_recorded(large: LargeStore, meta: str, session_id: uuid.UUID, stored: StoredMessage) -> bytes:
    """The answer of a large idempotent store, whole (recorded with the write: one copy)."""
    assert large.answer_parts is not None  # set by its ingest, before the write
    assert large.role is not None
    prefix, suffix = large_answer_frame(stored, meta, session_id, large.role)
    return b"".join([prefix, large.answer_parts, suffix])


async def _store_large(
    state: GatewayState,
    request: Request[Any, Any, Any],
    chunks: list[bytes],
    session: SessionRef,
) -> Response[Any]:
    """A JSON store of megabytes: decoded in a worker process (`acx_gateway.decode_pool`), the
    answer streamed in chunks. Same checks, stored bytes and answer as the small path."""
    key = idempotency_key(request)
    fingerprint = None if key is None else await request_fingerprint(request, chunks=chunks)
    async with state.decoder.store(chunks) as large:  # moves the chunks into shared memory
        prepared, raw = await large.prepare()
        idempotent = (
            None
            if key is None or fingerprint is None
            else IdempotentWrite(
                key, fingerprint, functools.partial(_large_recorded, large, prepared.meta_json, session.id)
            )
        )
        store_request = StoreRequest(
            session.project_id,
            session.key,
            prepared.fmt,
            raw,
            prepared.meta_json,
            decoded_elsewhere,
            (),
            request.scope.get("state", {}).get("request_id"),
            idempotent,
            functools.partial(large.ingest, prepared),
        )
        stored = await state.batcher.store(store_request)
        if isinstance(stored, Replayed):
            return replay_response(stored.response)
        metrics.MESSAGES_STORED.labels(prepared.fmt).inc()
        if stored.recorded is not None:
            return json_response(stored.recorded, 201)
        assert large.answer_parts is not None  # set by its ingest
        assert large.role is not None
        prefix, suffix = large_answer_frame(stored, prepared.meta_json, session.id, large.role)
        chunks = await answer_chunks(prefix, large.answer_parts, suffix)
    length = str(sum(len(chunk) for chunk in chunks))
    return Stream(chunks, status_code=201, media_type=JSON, headers={"Content-Length": length})


class MetaBody(msgspec.Struct):
    """`PATCH …/messages/{message_id}/meta` body."""

    meta: dict[str, Any] | None = None


class MetaResult(msgspec.Struct):
    """A message's whole user meta after a merge."""

    meta: dict[str, Any]


class MessageController(Controller):
    """`/session/{session}/messages` resource."""

    path = "/session/{session:str}/messages"
    dependencies = SESSION_DEPENDENCIES

    @post(
        "/", status_code=201, responses=error_responses(400, 404, 409, 413, 422), operation_class=AcceptsIdempotencyKey
    )
    async def store(
        self,
        request: Request[Any, Any, Any],
        session_ref: AddressedSession,
    ) -> Response[Envelope[StoredMessageOut]]:
        """Validate, normalise and persist one message (JSON, or multipart: `payload` and files)."""
        state = gateway_state(request)
        files: dict[str, Upload] = {}
        form_content: bytes | None = None
        if is_multipart(request):
            payload, files = await read_multipart(request, state.settings.max_upload_bytes)
            form_content = form_fingerprint(payload, files)
            body = decode_json(payload, StoreMessageBody)
        elif (request.content_length or 0) > LARGE_BODY_BYTES:
            chunks = [chunk async for chunk in request.stream() if chunk]  # never joined (a long copy)
            large = asyncio.create_task(_store_large(state, request, chunks, session_ref))
            # A cancelled request leaves the store running: it owns shared memory the batcher reads.
            return await asyncio.shield(large)
        else:
            body = decode_json(await request.body(), StoreMessageBody)
        fmt = parse_format(body.format)
        if not body.blob:
            raise InvalidRequestError("invalid_body", "blob is required")
        meta = meta_json(body.meta)
        blob, raw = await _decode_blob(body.blob)
        uploads = uploads_for(fmt, blob, files)
        by_field = {upload.field: upload for upload in uploads}
        prepare = (lambda message: attach_uploads(message, by_field)) if uploads else None
        key = idempotency_key(request)
        idempotent = (
            None
            if key is None
            else IdempotentWrite(
                key,
                await request_fingerprint(request, form_content),
                functools.partial(_stored_body, meta, session_ref.id),
            )
        )
        store_request = StoreRequest(
            session_ref.project_id,
            session_ref.key,
            fmt,
            raw,
            meta,
            functools.partial(rendering.ingest, fmt, blob, prepare=prepare),
            uploads,
            request.scope.get("state", {}).get("request_id"),
            idempotent,
        )
        # The batcher queues the conversion job once committed.
        stored = await state.batcher.store(store_request)
        if isinstance(stored, Replayed):
            return replay_response(stored.response)  # type: ignore[return-value]  # recorded bytes of the envelope
        metrics.MESSAGES_STORED.labels(fmt).inc()
        if stored.recorded is not None:
            return json_response(stored.recorded, 201)  # type: ignore[return-value]  # the same envelope, recorded
        if len(raw) > LARGE_BODY_BYTES:  # the answer carries the parts, files inline: megabytes to encode
            body_bytes = await asyncio.to_thread(_stored_body, meta, session_ref.id, stored)
            return json_response(body_bytes, 201)  # type: ignore[return-value]  # the same envelope, encoded
        return Response(envelope(_stored_out(stored, meta, session_ref.id)), status_code=201)

    @get("/", dependencies=PAGE_DEPENDENCIES, responses=error_responses(400, 404))
    async def list(
        self,
        session_ref: AddressedSession,
        paging: Paging,
        conn: Connection,
        request: Request[Any, Any, Any],
        format: FormatQuery = "openai",
        with_asset_public_url: Annotated[
            GoBool | None, QueryParameter(description="acontext only; default true")
        ] = None,
        with_events: Annotated[
            GoBool | None, QueryParameter(description="the session's events within the page")
        ] = None,
    ) -> Envelope[MessagesPage]:
        """A page of the session in `format`, items aligned with `ids` and `metas`."""
        fmt: codecs.Format = format or "openai"
        public_urls = is_true(with_asset_public_url, default=True) and fmt == "acontext"
        page = await read_session_page(conn, session_ref.project_id, session_ref.key, fmt, paging)
        rows = page.rows
        hashes = await assets_of_messages(conn, [row.id for row in rows]) if public_urls and rows else []
        events = is_true(with_events)
        page_events = (
            await event_store.events_between(conn, session_ref.key, rows[0].created_at, rows[-1].created_at)
            if events and rows
            else None
        )
        entries, edit_at = edit_page(rows, paging)
        data = build_page(session_ref.id, fmt, entries, page, edit_at)
        data.events = page_events
        if hashes:
            data.public_urls = _public_urls(gateway_state(request).settings, session_ref.project_id, hashes)
        return envelope(data)


class MessageMetaController(Controller):
    """`/session/{session}/messages/{message_id}/meta`."""

    path = "/session/{session:str}/messages/{message:str}/meta"
    dependencies = SESSION_DEPENDENCIES

    @patch("/", responses=error_responses(400, 404, 413))
    async def patch_meta(
        self,
        session_ref: AddressedSession,
        conn: Connection,
        message: Annotated[str, PathParameter(description="The message's UUID", schema_extra={"format": "uuid"})],
        data: JSONBody[MetaBody | None] = None,
    ) -> Envelope[MetaResult]:
        """Shallow-merge a message's user meta (null deletes a key); returns the whole meta."""
        message_id = parse_uuid("message_id", message)
        if data is None or data.meta is None:
            raise InvalidRequestError("invalid_body", "meta is required and must be an object")
        check_object_keys("meta", data.meta)
        check_object_size("meta", len(msgspec.json.encode(data.meta)))
        meta = await store.patch_user_meta(conn, session_ref.project_id, session_ref.key, message_id, data.meta)
        return envelope(MetaResult(meta))
