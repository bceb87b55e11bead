"""Tool-call/result pairing across the stored messages of a session.

The ingest state is persisted per session between ``decode_blob`` calls, so results are
resolved (id and function name) when they are stored, even across pages and formats.
"""

from __future__ import annotations

import msgspec

from acx.errors import DecodeError

__all__ = ["IngestState", "Ledger", "PendingCall"]


class PendingCall(msgspec.Struct):
    id: str
    name: str


class IngestState(msgspec.Struct):
    #: Index the next stored message will have in the session (0-based).
    position: int = 0
    #: Unanswered tool calls, oldest first.
    pending_calls: list[PendingCall] = []


class Ledger:
    """Working copy of an ``IngestState`` while one blob is decoded."""

    def __init__(self, state: IngestState) -> None:
        self.position = state.position
        self._pending = list(state.pending_calls)
        self._new: list[PendingCall] = []

    def synth_id(self, k: int) -> str:
        """Deterministic id for the k-th call of this message: ``call_<position>_<k>``."""
        return f"call_{self.position}_{k}"

    def add_call(self, call_id: str, name: str) -> None:
        # Calls become answerable from the next message on.
        self._new.append(PendingCall(call_id, name))

    def answer_id(self, call_id: str, path: str, name: str | None = None) -> str:
        """Answer the unanswered call ``call_id``; returns its function name."""
        for i, call in enumerate(self._pending):
            if call.id == call_id and (name is None or call.name == name):
                del self._pending[i]
                return call.name
        named = f" named {name!r}" if name is not None else ""
        raise DecodeError("orphan_tool_result", f"no earlier unanswered tool call with id {call_id!r}{named}", path)

    def answer_name(self, name: str, path: str, *, latest: bool = False) -> str:
        """Answer the earliest (or latest) unanswered call named ``name``; returns its id."""
        indices = [i for i, call in enumerate(self._pending) if call.name == name]
        if not indices:
            raise DecodeError("orphan_tool_result", f"no earlier unanswered call of function {name!r}", path)
        call = self._pending.pop(indices[-1] if latest else indices[0])
        return call.id

    def finish(self) -> IngestState:
        return IngestState(position=self.position + 1, pending_calls=self._pending + self._new)

    def advance(self) -> None:
        """Move on to the next message in place: the same as ``Ledger(self.finish())``."""
        self.position += 1
        if self._new:
            self._pending += self._new
            self._new = []
