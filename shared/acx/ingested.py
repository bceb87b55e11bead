"""What ingesting one blob produced: the hand-off from the codecs to storage.

Defined apart from both so that the codec glue (`acx.rendering`) and the storage layer
(`acx.db`) each import it without importing the other.
"""

from __future__ import annotations

from typing import NamedTuple

from acx.model import Message

__all__ = ["IngestResult"]


class IngestResult(NamedTuple):
    """A decoded blob: the message, and the JSON text storage writes for it and its session.

    A blob decoded in another process comes without its message (None) and with its parts as a
    view of the shared memory they were written to.
    """

    message: Message | None
    role: str
    parts_json: bytes | memoryview
    new_state_json: bytes
