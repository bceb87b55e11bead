"""The job contract between the gateway and the converter (arq on Redis).

Everything both sides must agree on lives here: queue name, job names and ids, and the job
serializer. arq's default serializer is pickle, which would let anyone able to write to Redis run
code in the worker; jobs here are plain msgpack (msgspec).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "QUEUE_NAME",
    "RENDER_MESSAGE",
    "SWEEP_UNRENDERED",
    "deserialize_job",
    "render_job_id",
    "serialize_job",
]

QUEUE_NAME = "acx:queue"
RENDER_MESSAGE = "render_message"
SWEEP_UNRENDERED = "sweep_unrendered"

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def render_job_id(message_id: str) -> str:
    """Job id of a message's render job: arq ignores an enqueue whose id is already queued."""
    return f"render:{message_id}"


def serialize_job(data: dict[str, Any]) -> bytes:
    """arq `job_serializer`."""
    return _encoder.encode(data)


def deserialize_job(data: bytes) -> dict[str, Any]:
    """arq `job_deserializer`."""
    result: dict[str, Any] = _decoder.decode(data)
    return result
