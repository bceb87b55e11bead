"""Fixtures for the codec tests: validation against the official SDK types.

Encodings are checked three ways (conversion.md §10):
* pydantic ``TypeAdapter``s of the SDK param types, in JSON mode, with lazily validated
  ``Iterable`` fields consumed;
* a strict walk of the TypedDicts that rejects keys they do not declare (TypedDicts ignore
  unknown keys) and response models (the Anthropic ``MessageParam`` union admits them);
* semantic checks: JSON-object arguments, decodable data URLs and base64, OpenAI file names,
  one data field per Gemini part, Anthropic tool-id charset, no empty text, pairing and,
  cross-format, strict role alternation.
"""

from __future__ import annotations

import base64
import collections.abc
import functools
import itertools
import json
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
import typing_extensions
from anthropic.types import ContentBlockParam, MessageParam, TextBlockParam
from google.genai import types as gtypes
from openai.types.chat import ChatCompletionMessageParam

_ITERABLES = {list, collections.abc.Iterable, collections.abc.Sequence, typing.Iterable, typing.Sequence}
_WRAPPERS = {typing.Required, typing.NotRequired, typing.Annotated}
_ANTHROPIC_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_GEMINI_DATA = ("text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode")


@functools.cache
def _hints(tp: Any) -> dict[str, Any]:
    return typing.get_type_hints(tp, include_extras=True)


def strict_errors(tp: Any, value: Any, path: str = "$") -> list[str]:
    """Errors of ``value`` against ``tp``, treating TypedDicts as closed (no unknown keys)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any or tp is object:
        return []
    if origin in _WRAPPERS:
        return strict_errors(args[0], value, path)
    if origin in (typing.Union, types.UnionType):
        failures: list[list[str]] = [strict_errors(arg, value, path) for arg in args]
        if any(not f for f in failures):
            return []
        closest: list[str] = min(failures, key=len)
        return [f"{path}: matches no member of {tp}: " + "; ".join(closest)]
    if origin is typing.Literal:
        return [] if value in args else [f"{path}: {value!r} not in {args}"]
    if typing_extensions.is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: expected object for {tp.__name__}"]
        hints = _hints(tp)
        errors = [f"{path}.{k}: unknown key for {tp.__name__}" for k in value if k not in hints]
        errors += [f"{path}.{k}: missing required key" for k in tp.__required_keys__ if k not in value]
        for key, item in value.items():
            if key in hints:
                errors += strict_errors(hints[key], item, f"{path}.{key}")
        return errors
    if origin in _ITERABLES:
        if not isinstance(value, list):
            return [f"{path}: expected list"]
        return [e for i, item in enumerate(value) for e in strict_errors(args[0], item, f"{path}[{i}]")]
    if origin in (dict, collections.abc.Mapping, typing.Dict):  # noqa: UP006 - runtime origin check
        return [] if isinstance(value, dict) else [f"{path}: expected object"]
    if isinstance(tp, type) and issubclass(tp, pydantic.BaseModel):
        return [f"{path}: only request param types are accepted, not {tp.__name__}"]
    if tp is type(None):
        return [] if value is None else [f"{path}: expected null"]
    if tp is float:
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{path}: expected number"]
    if tp in (str, int, bool):
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return [] if ok else [f"{path}: expected {tp.__name__}"]
    return []


def _consume(value: Any, original: Any) -> None:
    """Force pydantic's lazy ``Iterable`` validation (walking the input alongside: pydantic's
    smart union may hold a plain string as an ``Iterable`` that is never meant to be consumed)."""
    if isinstance(value, dict) and isinstance(original, dict):
        for key, item in value.items():
            _consume(item, original.get(key))
    elif isinstance(original, list) and isinstance(value, Iterator | list | tuple):
        for item, src in zip(list(value), original, strict=True):
            _consume(item, src)


class SdkValidator:
    """Validates encoded requests against the official SDK types and semantics."""

    def __init__(self) -> None:
        self.openai = pydantic.TypeAdapter(ChatCompletionMessageParam)
        self.anthropic_message = pydantic.TypeAdapter(MessageParam)
        self.anthropic_block = pydantic.TypeAdapter(ContentBlockParam)
        self.anthropic_system = pydantic.TypeAdapter(str | list[TextBlockParam])

    def _adapter(self, adapter: pydantic.TypeAdapter[Any], tp: Any, value: Any) -> None:
        _consume(adapter.validate_json(json.dumps(value)), value)
        errors = strict_errors(tp, value)
        assert not errors, errors

    def openai_message(self, message: Any) -> None:
        self._adapter(self.openai, ChatCompletionMessageParam, message)
        for call in message.get("tool_calls") or []:
            # Revision 2 (§7.1): any string is valid OpenAI arguments; non-object text is kept verbatim.
            assert isinstance(call["function"]["arguments"], str)
        content = message.get("content")
        for part in content if isinstance(content, list) else []:
            if part["type"] == "text" and message["role"] != "tool":
                assert part["text"], "empty text part"
            if part["type"] == "image_url" and part["image_url"]["url"].startswith("data:"):
                header, data = part["image_url"]["url"].split(",", 1)
                assert header.endswith(";base64")
                base64.b64decode(data, validate=True)
            if part["type"] == "file" and "file_data" in part["file"]:
                assert part["file"].get("filename"), "OpenAI needs filename with file_data"
                base64.b64decode(part["file"]["file_data"].split(",", 1)[1], validate=True)

    def anthropic_message_(self, message: Any) -> None:
        self._adapter(self.anthropic_message, MessageParam, message)
        content = message["content"]
        assert content not in ("", []), "empty Anthropic content"
        for block in content if isinstance(content, list) else []:
            self._adapter(self.anthropic_block, ContentBlockParam, block)
            if block["type"] == "text":
                assert block["text"], "empty text block"
            if block["type"] in ("tool_use", "tool_result"):
                assert _ANTHROPIC_ID.match(block.get("id") or block.get("tool_use_id"))
            if block["type"] == "tool_use":
                assert isinstance(block["input"], dict)
            source = block.get("source") or {}
            if source.get("type") == "base64":
                base64.b64decode(source["data"], validate=True)

    def gemini_content(self, content: Any) -> None:
        gtypes.Content.model_validate_json(json.dumps(content))
        for part in content.get("parts", []):
            present = [k for k in _GEMINI_DATA if k in part]
            assert len(present) == 1, f"one data field per part: {part}"
            if "text" in part and not part.get("thought"):
                assert part["text"] != "" or len(content["parts"]) > 1

    def request(self, fmt: str, payload: Any, *, cross_format: bool) -> None:
        """Validate a whole encoded request in ``fmt``."""
        if fmt == "openai":
            assert isinstance(payload, list)
            for message in payload:
                self.openai_message(message)
            _check_pairing_openai(payload)
        elif fmt == "anthropic":
            assert set(payload) <= {"system", "messages"}
            if "system" in payload:
                self._adapter(self.anthropic_system, str | list[TextBlockParam], payload["system"])
            for message in payload["messages"]:
                self.anthropic_message_(message)
            _check_pairing_anthropic(payload["messages"])
            if cross_format:
                _check_alternation([m["role"] for m in payload["messages"]])
        else:
            assert set(payload) <= {"systemInstruction", "contents"}
            if "systemInstruction" in payload:
                self.gemini_content(payload["systemInstruction"])
            for content in payload["contents"]:
                self.gemini_content(content)
            if cross_format:
                _check_alternation([c.get("role", "user") for c in payload["contents"]])


def _check_alternation(roles: list[str]) -> None:
    for a, b in itertools.pairwise(roles):
        assert a != b, f"consecutive {a} turns: {roles}"


def _check_pairing_openai(messages: list[Any]) -> None:
    open_calls: set[str] = set()
    for message in messages:
        for call in message.get("tool_calls") or []:
            open_calls.add(call["id"])
        if message["role"] == "tool":
            assert message["tool_call_id"] in open_calls, "tool result without earlier call"
            open_calls.discard(message["tool_call_id"])


def _check_pairing_anthropic(messages: list[Any]) -> None:
    open_calls: set[str] = set()
    for message in messages:
        content = message["content"]
        for block in content if isinstance(content, list) else []:
            if block["type"] == "tool_use":
                open_calls.add(block["id"])
            elif block["type"] == "tool_result":
                assert block["tool_use_id"] in open_calls, "tool_result without earlier tool_use"
                open_calls.discard(block["tool_use_id"])


@pytest.fixture(scope="session")
def sdk() -> SdkValidator:
    return SdkValidator()
