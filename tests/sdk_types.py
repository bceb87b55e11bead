"""Encoded items checked against the official SDKs' own message types (openai, anthropic, google-genai).

Pure (no server, no client): shared by the in-process HTTP tests and the SDK integration tests.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any

import anthropic.types
import openai.types.chat
from google.genai import types as genai_types
from pydantic import TypeAdapter

__all__ = ["validate_items"]

_OPENAI = TypeAdapter(openai.types.chat.ChatCompletionMessageParam)
_ANTHROPIC = TypeAdapter(anthropic.types.MessageParam)
_GEMINI = TypeAdapter(genai_types.Content)


def _typed_dict_keys(union: Any) -> dict[str, set[str]]:
    """role literal -> allowed top-level keys, for a union of message TypedDicts."""
    out: dict[str, set[str]] = {}
    for member in typing.get_args(union) or (union,):
        hints = typing.get_type_hints(member)
        for role in typing.get_args(hints["role"]):
            out.setdefault(role, set()).update(hints)
    return out


_OPENAI_KEYS = _typed_dict_keys(openai.types.chat.ChatCompletionMessageParam)
_ANTHROPIC_KEYS = _typed_dict_keys(anthropic.types.MessageParam)


def validate_items(fmt: str, items: Sequence[Any]) -> None:
    """Each item must be a valid official-SDK message of `fmt`, without unknown top-level keys."""
    for item in items:
        assert isinstance(item, dict), f"{fmt} item is not an object: {item!r}"
        if fmt == "openai":
            _OPENAI.validate_python(item)
            extra = set(item) - _OPENAI_KEYS.get(item["role"], set())
            assert not extra, f"openai item has unknown keys {extra}: {item}"
        elif fmt == "anthropic":
            _ANTHROPIC.validate_python(item)
            extra = set(item) - _ANTHROPIC_KEYS.get(item["role"], set())
            assert not extra, f"anthropic item has unknown keys {extra}: {item}"
        elif fmt == "gemini":
            _GEMINI.validate_python(item)  # genai models forbid extra keys at every level
