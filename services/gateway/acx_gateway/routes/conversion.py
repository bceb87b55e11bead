"""The request-level view of a session, and stateless conversion."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody

from acx import codecs, rendering, tokens
from acx.errors import InvalidRequestError
from acx.model import Message
from acx_gateway.dependencies import (
    PAGE_DEPENDENCIES,
    SESSION_DEPENDENCIES,
    AddressedSession,
    Connection,
    Paging,
)
from acx_gateway.envelope import Envelope, envelope, envelope_bytes, error_responses, json_response
from acx_gateway.pages import edit_page, read_session_page
from acx_gateway.params import ProviderQuery, parse_choice
from acx_gateway.request import OFF_LOOP_ABOVE_BYTES

__all__ = ["ConvertController", "RequestViewController"]


def _provider_format(name: str, value: str | None, default: str | None = None) -> codecs.ProviderFormat:
    return parse_choice(name, value, codecs.PROVIDER_FORMATS, default)  # type: ignore[return-value]


class RequestView(msgspec.Struct):
    """`GET /session/{id}/render` data: what a client sends to the provider, with provenance."""

    format: str
    payload: Any
    ids: list[list[str]]
    system_ids: list[str]
    this_time_tokens: int
    has_more: bool
    next_cursor: str | None = None
    edit_at_message_id: str | None = None


class ConvertBody(msgspec.Struct, rename={"source_format": "from", "target_format": "to"}):
    """`POST /convert` body: `input` is a list of messages (openai) or a request object."""

    source_format: str | None = None
    target_format: str | None = None
    input: Any = None


class RequestViewController(Controller):
    """`/session/{id}/render` (a public path: the request-level view)."""

    path = "/session/{session:str}/render"
    dependencies = SESSION_DEPENDENCIES

    # Named after its public path: the handler's name is part of the OpenAPI operationId.
    @get("/", dependencies=PAGE_DEPENDENCIES, responses=error_responses(400, 404))
    async def render(
        self,
        session_ref: AddressedSession,
        paging: Paging,
        conn: Connection,
        format: ProviderQuery = "openai",
    ) -> Envelope[RequestView]:
        """The session (or a page of it) as one provider request: merged turns, hoisted system."""
        fmt: codecs.ProviderFormat = format or "openai"
        page = await read_session_page(conn, session_ref.project_id, session_ref.key, fmt, paging, decode_all=True)
        entries, edit_at = edit_page(page.rows, paging)
        conversation: list[tuple[str, Message, bytes]] = []
        total = 0
        for row, edited in entries:
            # An edited message is encoded from its parts (empty raw), never as the stored blob.
            raw, parts = row.stored
            message = edited or rendering.decode_stored(parts)
            conversation.append((row.id, message, b"" if edited else raw.encode()))
            total += row.tokens if row.tokens is not None and edited is None else tokens.count_tokens(message)
        view = codecs.encode_request(fmt, conversation)
        return envelope(
            RequestView(
                format=fmt,
                payload=view.payload,
                ids=view.ids,
                system_ids=view.system_ids,
                this_time_tokens=total,
                has_more=page.has_more,
                next_cursor=page.next_cursor,
                edit_at_message_id=edit_at,
            )
        )


class ConvertController(Controller):
    """`/convert`: stateless conversion of a whole conversation."""

    path = "/convert"

    @post("/", status_code=200, responses=error_responses(400))
    async def convert(
        self, request: Request[Any, Any, Any], data: JSONBody[ConvertBody | None] = None
    ) -> Response[Envelope[Any]]:
        """Convert `input` (a conversation in `from` format) to the `to` format's request shape."""
        body = data or ConvertBody()
        source = _provider_format("from", body.source_format)
        target = _provider_format("to", body.target_format)
        if body.input is None:
            raise InvalidRequestError("invalid_body", "input is required")
        if len(await request.body()) > OFF_LOOP_ABOVE_BYTES:
            # Seconds of pure computation for a conversation of megabytes: off the event loop, so
            # every other request of this process is still answered meanwhile.
            encoded = await asyncio.to_thread(_converted, source, target, body.input)
            return json_response(encoded)  # type: ignore[return-value]  # the same envelope, encoded
        return Response(envelope(codecs.convert(source, target, body.input)))


def _converted(source: codecs.ProviderFormat, target: codecs.ProviderFormat, conversation: Any) -> bytes:
    """The encoded success envelope of a conversion."""
    return envelope_bytes(codecs.convert(source, target, conversation))
