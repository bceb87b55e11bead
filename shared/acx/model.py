"""The internal message model: one neutral shape every wire format decodes into.

A ``Message`` is a role plus an ordered list of typed parts (a tagged union on ``type``).
It is persisted as ``msgspec.json.encode(message)`` and read back with
``msgspec.json.decode(data, type=Message)``, so every field here is part of the storage
format: add fields with defaults, never rename or repurpose them.

Provider-only data that has no neutral meaning (signatures, TTLs, key spelling) is not
modelled beyond what cross-format encoding needs: same-format reads return the stored
blob verbatim.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

__all__ = [
    "AnyMedia",
    "AssetRef",
    "AudioPart",
    "ContentForm",
    "DataPart",
    "DocumentPart",
    "ImagePart",
    "MediaPart",
    "Message",
    "Part",
    "Provider",
    "RedactedThinkingPart",
    "Role",
    "SourceFormat",
    "TextPart",
    "ThinkingPart",
    "ToolCallPart",
    "ToolResultContent",
    "ToolResultPart",
    "UnsupportedPart",
    "VideoPart",
]

Role = Literal["system", "user", "assistant"]
SourceFormat = Literal["openai", "anthropic", "gemini", "acontext"]
Provider = Literal["openai", "anthropic", "gemini"]
#: How the source spelled its content: ``string`` (OpenAI/Anthropic string content),
#: ``list`` (a list, even of one element) or ``auto`` (no string form in the source:
#: Gemini and acontext; one plain text part is encoded as a string).
ContentForm = Literal["string", "list", "auto"]


class _Part(msgspec.Struct, tag_field="type", omit_defaults=True, kw_only=True):
    """Base of every part; ``type`` is the union tag."""


class TextPart(_Part, tag="text"):
    text: str
    #: A prompt-cache breakpoint ends after this part (Anthropic cache_control, OpenAI
    #: prompt_cache_breakpoint). TTLs are not translated, so only presence is kept.
    cache: bool = False
    #: Came from an OpenAI refusal; encoded as plain text everywhere else.
    refusal: bool = False


class AssetRef(msgspec.Struct, omit_defaults=True, kw_only=True):
    """An uploaded file stored content-addressed in the project's asset store."""

    sha256: str
    mime: str
    size: int


class MediaPart(_Part):
    """Shared fields of binary content. Exactly one source is set: ``data`` (base64),
    ``url`` (any URI, passed by reference) or ``file_id`` (a provider Files-API id, only
    meaningful to ``file_provider``; for Gemini it is the Files API URI); an acontext upload
    carries ``file_field`` instead."""

    mime: str | None = None
    data: str | None = None
    url: str | None = None
    file_id: str | None = None
    file_provider: Provider | None = None
    filename: str | None = None
    file_field: str | None = None
    cache: bool = False
    #: Set for uploads: the bytes are also in ``data`` (so every format encodes it without I/O).
    asset: AssetRef | None = None
    #: Model reasoning (Gemini ``thought: true`` on a media part): kept for Gemini, dropped
    #: elsewhere like any reasoning, never shown as visible content (conversion.md §7.1).
    reasoning: bool = False


class ImagePart(MediaPart, tag="image"):
    #: OpenAI ``detail`` (auto|low|high|original); Gemini mediaResolution LOW/HIGH map here.
    detail: str | None = None


class DocumentPart(MediaPart, tag="file"):
    """A document (PDF, plain text, any other file type)."""


class AudioPart(MediaPart, tag="audio"):
    pass


class VideoPart(MediaPart, tag="video"):
    pass


class UnsupportedPart(_Part, tag="unsupported"):
    """A known block with no equivalent elsewhere (Anthropic ``server_tool_use``,
    ``search_result``, Gemini ``executableCode``...): kept for its provider, encoded as a
    placeholder text everywhere else."""

    provider: SourceFormat
    what: str
    raw: Any = None


class DataPart(_Part, tag="data"):
    """An acontext ``data`` part: structured data with a ``data_type``."""

    data_type: str
    meta: dict[str, Any] = {}


AnyMedia = ImagePart | DocumentPart | AudioPart | VideoPart
ToolResultContent = TextPart | ImagePart | DocumentPart | AudioPart | VideoPart | UnsupportedPart


class ToolCallPart(_Part, tag="tool-call"):
    id: str
    name: str
    #: Parsed arguments, always a JSON object, in source key order. Source text that is not a
    #: JSON object is kept as ``{"_raw_arguments": text}`` (conversion.md §7.1).
    arguments: dict[str, Any] = {}
    #: The exact argument string when the source sent a string (OpenAI, acontext string form).
    raw_arguments: str | None = None
    #: The id was synthesised at ingest (Gemini call without id, OpenAI legacy function_call).
    synthetic_id: bool = False
    #: OpenAI custom tool call: ``arguments`` is ``{"input": <text>}``.
    custom: bool = False
    cache: bool = False


class ToolResultPart(_Part, tag="tool-result"):
    call_id: str
    #: Function name, resolved from the matching call at ingest.
    name: str
    content: list[ToolResultContent] = []
    #: The source used string content (OpenAI/Anthropic string, Gemini ``{"output": str}``).
    string_form: bool = False
    is_error: bool = False
    cache: bool = False
    #: Gemini ``response`` object when it was neither ``{"output"}`` nor ``{"error"}``.
    response: dict[str, Any] | None = None


class ThinkingPart(_Part, tag="thinking"):
    text: str
    #: Opaque signature, only valid for ``provider`` (Anthropic signature or Gemini
    #: thoughtSignature); never crosses providers.
    signature: str | None = None
    provider: Provider | None = None


class RedactedThinkingPart(_Part, tag="redacted_thinking"):
    data: str
    provider: Provider = "anthropic"


Part = (
    TextPart
    | ImagePart
    | DocumentPart
    | AudioPart
    | VideoPart
    | ToolCallPart
    | ToolResultPart
    | ThinkingPart
    | RedactedThinkingPart
    | UnsupportedPart
    | DataPart
)


class Message(msgspec.Struct, omit_defaults=True, kw_only=True):
    role: Role
    parts: list[Part] = []
    source_format: SourceFormat = "acontext"
    content_form: ContentForm = "auto"
    #: OpenAI ``system``/``developer`` distinction for system messages.
    original_role: Literal["system", "developer"] | None = None
    #: OpenAI participant ``name`` (no slot in Anthropic or Gemini).
    name: str | None = None
