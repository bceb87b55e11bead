"""Pure conversion between the OpenAI, Anthropic, Gemini and acontext message formats.

* ``decode_blob``: validate and normalise one stored blob into a ``Message`` (ingest).
* ``encode_items``: the items view of one stored message (one item, split where needed).
* ``encode_request``: the request-level view of a conversation (merged, system hoisted).
* ``encode_acontext_parts`` / ``acontext_role`` / ``acontext_system_meta``: acontext output.
* ``convert``: stateless conversion of a whole request (``POST /api/v1/convert``).

No I/O here: the storage layer persists the ``Message`` and the ``IngestState``.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from acx.codecs import acontext, anthropic, gemini, openai
from acx.codecs.acontext import acontext_role, acontext_system_meta
from acx.codecs.acontext import encode_parts as encode_acontext_parts
from acx.codecs.pairing import IngestState, Ledger, PendingCall
from acx.codecs.request_view import ENCODERS, EncodedRequest, encode_request, gemini_system_value, items_for
from acx.errors import DecodeError
from acx.model import Message, Provider, SourceFormat

__all__ = [
    "CODEC_VERSION",
    "FORMATS",
    "PROVIDER_FORMATS",
    "EncodedRequest",
    "Format",
    "IngestState",
    "PendingCall",
    "ProviderFormat",
    "acontext_role",
    "acontext_system_meta",
    "convert",
    "decode_blob",
    "encode_acontext_parts",
    "encode_items",
    "encode_items_counted",
    "encode_request",
]

#: Bumped whenever an encoding changes; stored renderings are cached under it.
CODEC_VERSION: int = 2  # 2: conversion.md revision 2 (§7.1)

# The formats are declared once, in acx.model; these are their names here and as tuples.
Format = SourceFormat
ProviderFormat = Provider
FORMATS: tuple[Format, ...] = typing.get_args(SourceFormat)
PROVIDER_FORMATS: tuple[ProviderFormat, ...] = typing.get_args(Provider)

_DECODERS: dict[str, Callable[[object, Ledger], Message]] = {
    "openai": openai.decode,
    "anthropic": anthropic.decode,
    "gemini": gemini.decode,
    "acontext": acontext.decode,
}
_encoder = msgspec.json.Encoder()


def decode_blob(fmt: Format, blob: object, state: IngestState) -> tuple[Message, IngestState]:
    """Validate and normalise one stored blob (already JSON-decoded).

    Returns the message and the session's next ingest state (position + 1, new calls
    added, answered calls removed). Raises ``DecodeError`` for malformed blobs, including
    tool results that answer no earlier unanswered call (``orphan_tool_result``).
    """
    decoder = _DECODERS.get(fmt)
    if decoder is None:
        raise ValueError(f"unknown format {fmt!r}")
    ledger = Ledger(state)
    message = decoder(blob, ledger)
    return message, ledger.finish()


def encode_items(target: ProviderFormat, message: Message, raw: bytes) -> bytes:
    """Items view of one stored message: JSON array bytes of ``target`` items.

    Same-format reads return the stored blob verbatim, except a Gemini system blob, which
    has no item shape and becomes a ``user`` content with its parts. An empty ``raw`` (an
    edited message) is encoded from its parts.
    """
    return encode_items_counted(target, message, raw)[0]


def encode_items_counted(target: ProviderFormat, message: Message, raw: bytes) -> tuple[bytes, int]:
    """``encode_items`` and the number of items in the array (without parsing it back)."""
    if raw and target == message.source_format:
        if target == "gemini" and message.role == "system":
            parts = gemini_system_value(msgspec.json.decode(raw)).get("parts", [])
            return _encoder.encode([{"role": "user", "parts": parts}]), 1
        return b"[" + raw + b"]", 1
    items = ENCODERS[target](message) if target in ENCODERS else items_for(target, message, raw)
    return _encoder.encode([item.payload for item in items]), len(items)


def _prefixed(error: DecodeError, prefix: str) -> DecodeError:
    path = f"{prefix}.{error.path}" if error.path and not error.path.startswith("[") else prefix + error.path
    return DecodeError(error.code, error.msg, path)


def _source_blobs(fmt: ProviderFormat, source: Any) -> tuple[str, list[Any], tuple[str, object] | None]:
    """Split a request-shaped ``source`` into the key of its message list (blob ``i`` is at
    ``key[i]``), that list, and an optional system blob."""
    if fmt == "openai":
        if not isinstance(source, list):
            raise DecodeError("invalid_blob", "OpenAI source must be a list of messages")
        return "", source, None
    if not isinstance(source, dict):
        raise DecodeError("blob_not_object", "source must be a JSON object")
    key = "messages" if fmt == "anthropic" else "contents"
    items = source.get(key)
    if not isinstance(items, list):
        raise DecodeError("invalid_blob", f"source needs a {key!r} list", key)
    system: tuple[str, object] | None = None
    if fmt == "anthropic" and source.get("system") is not None:
        system = ("system", {"role": "system", "content": source["system"]})
    elif fmt == "gemini":
        si_key = "systemInstruction" if source.get("systemInstruction") is not None else "system_instruction"
        if source.get(si_key) is not None:
            system = ("", {si_key: source[si_key]})
    return key, items, system


def _unknown_format(fmt: str, blob: object, ledger: Ledger) -> Message:
    raise ValueError(f"unknown format {fmt!r}")


def convert(source_format: ProviderFormat, target: ProviderFormat, source: Any) -> Any:
    """Convert a whole request-shaped conversation (as in tests/data/conversion-cases.json).

    Each element is decoded as one stored blob (the system value first, as a system blob)
    and the encoded request's payload is returned. Raises ``DecodeError`` with a
    path into ``source``.
    """
    # An unknown format raises (in decode_blob) only once there is a blob to decode.
    decoder = _DECODERS.get(source_format) or functools.partial(_unknown_format, source_format)
    key, blobs, system = _source_blobs(source_format, source)
    conversation: list[tuple[str, Message, bytes]] = []
    # One ledger for the whole conversation (``advance`` is ``decode_blob``'s state hand-over).
    ledger = Ledger(IngestState())
    # The raw blob is only read by same-format encoding; elsewhere it only has to be non-empty.
    same = source_format == target
    if system is not None:
        try:
            message = decoder(system[1], ledger)
        except DecodeError as exc:
            path = exc.path.replace("content", "system", 1) if source_format == "anthropic" else exc.path
            raise DecodeError(exc.code, exc.msg, path) from None
        conversation.append(("system", message, _encoder.encode(system[1]) if same else b"-"))
        # Synthesised ids count positions in messages/contents, as the examples do.
        ledger.advance()
        ledger.position = 0
    for i, blob in enumerate(blobs):
        try:
            message = decoder(blob, ledger)
        except DecodeError as exc:
            raise _prefixed(exc, f"{key}[{i}]") from None
        ledger.advance()
        conversation.append((str(i), message, _encoder.encode(blob) if same else b"-"))
    return encode_request(target, conversation).payload
