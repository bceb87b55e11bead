"""The unit every encoder produces: one output message plus what the request view needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

ItemKind = Literal["message", "system", "tool", "followup"]


class Item:
    """One encoded wire message.

    ``kind`` tells the request view how to place it: ``tool`` (an OpenAI tool message),
    ``followup`` (an OpenAI user message holding only media moved out of tool results),
    ``system`` or a plain ``message``. For Gemini, ``answers`` holds, per part, the id of the
    call a ``functionResponse`` answers (else None) and ``calls`` the ids of the calls it
    issues, so responses can be re-ordered to call order. Both are read-only (shared empty
    tuples by default: items are built for every encoding).
    """

    __slots__ = ("answers", "calls", "kind", "payload", "verbatim")

    def __init__(
        self,
        payload: dict[str, Any],
        kind: ItemKind = "message",
        answers: Sequence[str | None] = (),
        calls: Sequence[str] = (),
        verbatim: bool = False,
    ) -> None:
        self.payload = payload
        self.kind = kind
        self.answers = answers
        self.calls = calls
        #: The stored blob itself (same-format read): never merged with another verbatim item.
        self.verbatim = verbatim

    def __repr__(self) -> str:
        return f"Item({self.payload!r}, kind={self.kind!r}, verbatim={self.verbatim!r})"
