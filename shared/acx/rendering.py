"""Ingest one message, and build its renderings: the glue between storage and the codecs.

A rendering is what the `renderings` table caches for one message and one format: the encoded
body and its item count. The converter precomputes them (every format); the gateway builds one
inline when the cache has none, so both produce byte-identical renderings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from acx import codecs, tokens
from acx.codecs import IngestState
from acx.ingested import IngestResult
from acx.model import Message

__all__ = [
    "Rendering",
    "acontext_body",
    "decode_stored",
    "ingest",
    "rendering_of",
    "renderings_of",
]

_state_decoder = msgspec.json.Decoder(IngestState)
_message_decoder = msgspec.json.Decoder(Message)
_encoder = msgspec.json.Encoder()


class Rendering(msgspec.Struct, frozen=True):
    """A rendering as cached: JSON text and how many items it holds."""

    body: str
    item_count: int


def ingest(
    fmt: codecs.Format, blob: Any, state_json: str, prepare: Callable[[Message], Message] | None = None
) -> IngestResult:
    """Decode a blob against the session's ingest state (raises DecodeError).

    `prepare` adjusts the decoded message before it is stored (e.g. attaching uploads).
    """
    state = _state_decoder.decode(state_json) if state_json not in ("", "{}") else IngestState()
    message, new_state = codecs.decode_blob(fmt, blob, state)
    if prepare is not None:
        message = prepare(message)
    return IngestResult(message, codecs.acontext_role(message), _encoder.encode(message), _encoder.encode(new_state))


def decode_stored(parts_json: str | bytes) -> Message:
    """The internal message stored in `messages.parts`."""
    return _message_decoder.decode(parts_json)


def acontext_body(message: Message) -> bytes:
    """The format-specific half of an acontext item: role, parts and system meta."""
    return _encoder.encode(
        {
            "role": codecs.acontext_role(message),
            "parts": codecs.encode_acontext_parts(message),
            "system_meta": codecs.acontext_system_meta(message),
        }
    )


def rendering_of(fmt: str, message: Message, raw: str) -> Rendering:
    """The rendering of one stored message in `fmt`: its items array encoded, or the acontext body."""
    return _rendering_of(fmt, message, raw.encode())


def _rendering_of(fmt: str, message: Message, raw: bytes) -> Rendering:
    if fmt == "acontext":
        return Rendering(acontext_body(message).decode(), 1)
    # The codec knows how many items it encoded: no need to parse the body back.
    body, count = codecs.encode_items_counted(fmt, message, raw)  # type: ignore[arg-type]
    return Rendering(body.decode(), count)


def renderings_of(raw: str, parts_json: str) -> tuple[dict[str, Rendering], int]:
    """Every format's rendering plus the token count of one stored message."""
    message = decode_stored(parts_json)
    raw_bytes = raw.encode()
    renderings: dict[str, Rendering] = {fmt: _rendering_of(fmt, message, raw_bytes) for fmt in codecs.FORMATS}
    return renderings, tokens.count_tokens(message)
