"""The job contract between the gateway and the converter (arq on Redis).

Everything both sides must agree on lives here: queue name, job names and ids, and the job
serializer. arq's default serializer is pickle, which would let anyone able to write to Redis run
code in the worker; jobs here are plain msgpack (msgspec).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "CONVERSION_BATCH_MAX",
    "CONVERSION_JOB",
    "QUEUE_NAME",
    "conversion_job_id",
    "deserialize_job",
    "serialize_job",
    "worker_ready_key",
]

QUEUE_NAME = "acx:queue"
#: The conversion job's arq function name. Kept as it was when jobs were "renders": jobs already
#: queued in Redis, or queued by a gateway of another version during a rolling upgrade, carry it.
CONVERSION_JOB = "render_messages"
#: Messages per conversion job: a gateway's store batch, or a chunk of the sweep.
CONVERSION_BATCH_MAX = 256

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def conversion_job_id(message_ids: list[str]) -> str:
    """Job id of a conversion job: its first message id, so re-enqueueing the same batch is a no-op
    while the job is queued (arq ignores an enqueue whose id exists). The prefix is the one older
    versions use, so that holds across a rolling upgrade too."""
    return f"render:{message_ids[0]}"


def worker_ready_key(host: str, pid: int) -> str:
    """Key a converter process sets once it is connected to Redis and PostgreSQL (deleted when it
    stops): what `make run` waits for before it says ready."""
    return f"acx:converter:ready:{host}:{pid}"


def serialize_job(data: dict[str, Any]) -> bytes:
    """arq `job_serializer`."""
    return _encoder.encode(data)


def deserialize_job(data: bytes) -> dict[str, Any]:
    """arq `job_deserializer`."""
    result: dict[str, Any] = _decoder.decode(data)
    return result
