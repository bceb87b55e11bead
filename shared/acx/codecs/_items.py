"""The unit every encoder produces: one output message plus what the request view needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ItemKind = Literal["message", "system", "tool", "followup"]


@dataclass(slots=True)
class Item:
    """One rendered wire message.

    ``kind`` tells the request view how to place it: ``tool`` (an OpenAI tool message),
    ``followup`` (an OpenAI user message holding only media moved out of tool results),
    ``system`` or a plain ``message``. For Gemini, ``answers`` holds, per part, the id of the
    call a ``functionResponse`` answers (else None) and ``calls`` the ids of the calls it
    issues, so responses can be re-ordered to call order.
    """

    payload: dict[str, Any]
    kind: ItemKind = "message"
    answers: list[str | None] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    #: The stored blob itself (same-format read): never merged with another verbatim item.
    verbatim: bool = False
