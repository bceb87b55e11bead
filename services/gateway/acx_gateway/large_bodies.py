"""Large JSON stores, decoded in a worker process: the functions that run there.

A store body of megabytes held the gateway's GIL for whole C calls (msgspec decoding and encoding
tens of MB at once, binascii validating the base64 of an image), so every other request of the
process waited, even with the decode in a thread. Here the body is handed to a worker process in
shared memory and decoded in two steps that mirror the handler and the batcher:

* `prepare` (in the handler, before the batcher): the body's fields checked as the small path checks
  them, the blob's JSON validated, and where the blob's bytes are in the body (they are stored as sent);
* `ingest` (in `write_locked`, under the session's row lock, which fixes the ingest state): the blob
  decoded into the model, its stored parts and the answer's `parts` encoded into a new shared memory
  segment, owned (closed and unlinked) by the gateway from then on.

Only small values (offsets, names, short strings) are pickled between the processes. Everything
here is pure apart from the shared memory; `acx_gateway.decode_pool` is the gateway's side.
"""

from __future__ import annotations

from multiprocessing.shared_memory import SharedMemory
from typing import NamedTuple

import msgspec

from acx import codecs, rendering
from acx.errors import InvalidRequestError
from acx.limits import check_object_keys, check_object_size, decode_untrusted
from acx_gateway.params import parse_choice
from acx_gateway.uploads import uploads_for

__all__ = [
    "Ingested",
    "Prepared",
    "StoreMessageBody",
    "buffer",
    "ingest",
    "meta_json",
    "parse_format",
    "prepare",
    "warm_up",
]

_encoder = msgspec.json.Encoder()


class StoreMessageBody(msgspec.Struct):
    """`POST /session/{id}/messages` JSON body. `blob` and `meta` stay raw so they persist as sent."""

    blob: msgspec.Raw = msgspec.Raw(b"")
    format: str | None = None
    meta: msgspec.Raw = msgspec.Raw(b"")


def parse_format(value: str | None) -> codecs.Format:
    """The store's `format` (default openai); 400 `invalid_format` otherwise."""
    return parse_choice("format", value, codecs.FORMATS, "openai")  # type: ignore[return-value]


def meta_json(meta: msgspec.Raw) -> str:
    """The user meta as stored: the JSON text sent (`{}` when absent or null), checked."""
    if not meta or bytes(meta) == b"null":
        return "{}"
    check_object_size("meta", len(meta))
    decoded = decode_untrusted(bytes(meta), name="meta")
    if not isinstance(decoded, dict):
        raise InvalidRequestError("invalid_body", "meta must be a JSON object")
    check_object_keys("meta", decoded)
    return bytes(meta).decode()


class Prepared(NamedTuple):
    """A checked body: its format and meta, and where the blob's bytes are in it."""

    fmt: codecs.Format
    meta_json: str
    blob_start: int
    blob_end: int


class Ingested(NamedTuple):
    """A decoded blob: what storage writes for the session, and the segment holding the rest
    (`parts_size` bytes of stored parts, then `answer_size` bytes of the answer's `parts`)."""

    role: str
    new_state_json: bytes
    segment: str
    parts_size: int
    answer_size: int


def buffer(segment: SharedMemory) -> memoryview:
    """The mapping of an open segment."""
    view = segment.buf
    assert view is not None  # None only once closed
    return view


def warm_up() -> None:
    """Nothing: submitting it starts a worker process (and waits until it has imported this module)."""


def prepare(segment: str, size: int) -> Prepared:
    """Check a store body held in shared memory `segment` (its first `size` bytes).

    Raises:
        AcxError: what the small path raises for the same body (invalid JSON, format, meta, blob).
    """
    body = _read(segment, size)
    parsed = decode_untrusted(body or b"{}", StoreMessageBody)
    fmt = parse_format(parsed.format)
    if not parsed.blob:
        raise InvalidRequestError("invalid_body", "blob is required")
    meta = meta_json(parsed.meta)
    blob = bytes(parsed.blob)
    uploads_for(fmt, decode_untrusted(blob, name="blob"), {})  # a JSON body has no files to reference
    # The Raw keeps no offset; any occurrence of the same bytes is the same stored text.
    start = body.find(blob)
    return Prepared(fmt, meta, start, start + len(blob))


def ingest(segment: str, start: int, end: int, fmt: codecs.Format, state_json: str) -> Ingested:
    """Decode the blob at `start:end` of `segment` against the session's ingest state.

    Raises:
        DecodeError: the blob is rejected (nothing is written for it).
    """
    shm = SharedMemory(segment)
    try:
        with buffer(shm)[start:end] as view:
            blob = decode_untrusted(bytes(view), name="blob")  # a copy, in this process only
    finally:
        shm.close()
    result = rendering.ingest(fmt, blob, state_json)
    assert result.message is not None  # rendering.ingest always returns it
    answer = _encoder.encode(codecs.encode_acontext_parts(result.message))
    parts = result.parts_json
    out = SharedMemory(create=True, size=len(parts) + len(answer))
    try:
        buffer(out)[: len(parts)] = parts
        buffer(out)[len(parts) : len(parts) + len(answer)] = answer
    except BaseException:
        out.close()
        out.unlink()
        raise
    out.close()
    return Ingested(result.role, result.new_state_json, out.name, len(parts), len(answer))


def _read(segment: str, size: int) -> bytes:
    shm = SharedMemory(segment)
    try:
        return bytes(buffer(shm)[:size])
    finally:
        shm.close()
