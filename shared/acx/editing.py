"""Context-editing strategies applied to a page of messages at read time (acontext-api.md §8).

Strategies never touch storage: they work on copies of the page's messages. Each is parsed and
validated up front, so a bad parameter is a 400 naming the strategy and the parameter (upstream
answers 500). Tool calls and their results are removed together and never orphaned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from acx.errors import InvalidRequestError
from acx.limits import decode_untrusted
from acx.model import Message, TextPart, ToolCallPart, ToolResultPart
from acx.tokens import count_tokens, get_encoding

__all__ = ["EditResult", "Strategy", "apply_strategies", "count_text_tokens", "parse_strategies"]


class Strategy(msgspec.Struct, frozen=True):
    """A validated strategy: its type and normalised parameters."""

    type: str
    params: dict[str, Any]


class EditResult(msgspec.Struct):
    """The edited page: surviving (id, message) pairs, which of them changed, the pin point."""

    messages: list[tuple[str, Message]]
    changed: set[str]
    edit_at_message_id: str | None


_PRIORITY = {"remove_tool_result": 1, "remove_tool_call_params": 2, "middle_out": 50, "token_limit": 100}


def _bad(strategy: str, message: str) -> InvalidRequestError:
    return InvalidRequestError("invalid_edit_strategy", f"edit strategy {strategy}: {message}")


def _int_param(strategy: str, params: dict[str, Any], name: str, *, default: int | None, minimum: int) -> int | None:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(strategy, f"{name} must be a number")
    number = int(value)  # JSON numbers are truncated to integers, as upstream does
    if number < minimum:
        raise _bad(strategy, f"{name} must be >= {minimum}")
    return number


def _keep_tools(strategy: str, params: dict[str, Any]) -> list[str]:
    tools = params.get("keep_tools")
    if tools is None:
        return []
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise _bad(strategy, "keep_tools must be an array of strings")
    return tools


def _parse_one(index: int, raw: Any) -> Strategy:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise InvalidRequestError(
            "invalid_edit_strategy", f"edit_strategies[{index}] must be an object with a string 'type'"
        )
    kind: str = raw["type"]
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise _bad(kind, "params must be an object")
    if kind == "remove_tool_result":
        placeholder = params.get("tool_result_placeholder", "Done")
        if not isinstance(placeholder, str):
            raise _bad(kind, "tool_result_placeholder must be a string")
        norm = {
            "keep": _int_param(kind, params, "keep_recent_n_tool_results", default=3, minimum=0),
            "placeholder": placeholder.strip() or "Done",
            "keep_tools": _keep_tools(kind, params),
            "gt_token": _int_param(kind, params, "gt_token", default=None, minimum=1),
        }
    elif kind == "remove_tool_call_params":
        norm = {
            "keep": _int_param(kind, params, "keep_recent_n_tool_calls", default=3, minimum=0),
            "keep_tools": _keep_tools(kind, params),
            "gt_token": _int_param(kind, params, "gt_token", default=None, minimum=1),
        }
    elif kind == "token_limit":
        if params.get("limit_tokens") is None:
            raise _bad(kind, "token_limit strategy requires 'limit_tokens' parameter")
        norm = {"limit": _int_param(kind, params, "limit_tokens", default=None, minimum=1)}
    elif kind == "middle_out":
        target = params.get("token_reduce_to")
        if target is None:
            raise _bad(kind, "middle_out strategy requires 'token_reduce_to' parameter")
        if isinstance(target, bool) or not isinstance(target, int | float) or target != int(target):
            raise _bad(kind, "token_reduce_to must be an integer")
        if target <= 0:
            raise _bad(kind, "token_reduce_to must be > 0")
        norm = {"target": int(target)}
    else:
        raise InvalidRequestError("invalid_edit_strategy", f"unknown strategy type: {kind}")
    return Strategy(kind, norm)


def parse_strategies(text: str | None) -> list[Strategy]:
    """Parse the `edit_strategies` query parameter, sorted stably by priority.

    Raises:
        InvalidRequestError: invalid JSON, unknown strategy type, or a bad parameter.
    """
    if text is None or not text.strip():
        return []
    try:
        raw = decode_untrusted(text, name="edit_strategies")
    except InvalidRequestError as exc:
        raise InvalidRequestError("invalid_edit_strategy", f"invalid edit_strategies JSON: {exc.msg}") from None
    if not isinstance(raw, list):
        raise InvalidRequestError("invalid_edit_strategy", "edit_strategies must be a JSON array")
    strategies = [_parse_one(i, item) for i, item in enumerate(raw)]
    return sorted(strategies, key=lambda s: _PRIORITY[s.type])


def count_text_tokens(text: str) -> int:
    """o200k tokens of a plain string."""
    return len(get_encoding().encode_ordinary(text))


def _result_text(part: ToolResultPart) -> str:
    return "".join(c.text for c in part.content if isinstance(c, TextPart))


Page = list[tuple[str, Message]]


def _replace_oldest(
    page: Page,
    changed: set[str],
    params: dict[str, Any],
    kind: type[ToolCallPart] | type[ToolResultPart],
    measured: Callable[[Any], str],
    replacement: Callable[[Any], ToolCallPart | ToolResultPart],
) -> Page:
    """Replace all but the newest `keep` tool parts of `kind` (outside `keep_tools`); with
    `gt_token`, only those whose measured text has more tokens than that."""
    keep_tools = set(params["keep_tools"])
    found = [
        (i, j)
        for i, (_, message) in enumerate(page)
        for j, part in enumerate(message.parts)
        if isinstance(part, kind) and part.name not in keep_tools
    ]
    for i, j in found[: max(len(found) - params["keep"], 0)]:
        message_id, message = page[i]
        part = message.parts[j]
        text = measured(part)
        if params["gt_token"] is not None and (not text or count_text_tokens(text) <= params["gt_token"]):
            continue
        parts = list(message.parts)
        parts[j] = replacement(part)
        page[i] = (message_id, msgspec.structs.replace(message, parts=parts))
        changed.add(message_id)
    return page


def _remove_tool_results(page: Page, changed: set[str], params: dict[str, Any]) -> Page:
    placeholder = [TextPart(text=params["placeholder"])]
    return _replace_oldest(
        page,
        changed,
        params,
        ToolResultPart,
        _result_text,
        lambda part: msgspec.structs.replace(part, content=placeholder),
    )


def _arguments_text(part: ToolCallPart) -> str:
    return part.raw_arguments if part.raw_arguments is not None else msgspec.json.encode(part.arguments).decode()


def _remove_tool_call_params(page: Page, changed: set[str], params: dict[str, Any]) -> Page:
    return _replace_oldest(
        page,
        changed,
        params,
        ToolCallPart,
        _arguments_text,
        lambda part: msgspec.structs.replace(part, arguments={}, raw_arguments="{}"),
    )


def _call_ids(message: Message) -> set[str]:
    return {p.id for p in message.parts if isinstance(p, ToolCallPart)}


def _result_ids(message: Message) -> set[str]:
    return {p.call_id for p in message.parts if isinstance(p, ToolResultPart)}


def _token_limit(page: Page, _changed: set[str], params: dict[str, Any]) -> Page:
    limit: int = params["limit"]
    counts = [count_tokens(message) for _, message in page]
    total = sum(counts)
    if total <= limit:
        return page
    result_at: dict[str, int] = {}
    for index, (_, message) in enumerate(page):
        for call_id in _result_ids(message):
            result_at[call_id] = index
    removed: set[int] = set()
    for index, (_, message) in enumerate(page):
        if total <= limit:
            break
        if index in removed:
            continue
        removed.add(index)
        total -= counts[index]
        for call_id in sorted(_call_ids(message)):
            paired = result_at.get(call_id)
            if paired is not None and paired not in removed:
                removed.add(paired)
                total -= counts[paired]
    return [entry for index, entry in enumerate(page) if index not in removed]


def _middle_out(page: Page, _changed: set[str], params: dict[str, Any]) -> Page:
    target: int = params["target"]
    remaining = list(page)
    counts = {message_id: count_tokens(message) for message_id, message in page}
    total = sum(counts.values())
    while total > target and remaining:
        pick = len(remaining) // 2 if len(remaining) > 2 else 0
        doomed = {pick}
        linked = _call_ids(remaining[pick][1]) | _result_ids(remaining[pick][1])
        grew = True
        while grew:  # transitive closure over shared tool ids
            grew = False
            for index, (_, message) in enumerate(remaining):
                ids = _call_ids(message) | _result_ids(message)
                if index not in doomed and ids & linked:
                    doomed.add(index)
                    linked |= ids
                    grew = True
        total -= sum(counts[remaining[i][0]] for i in doomed)
        remaining = [entry for index, entry in enumerate(remaining) if index not in doomed]
    return remaining


_APPLY: dict[str, Callable[[Page, set[str], dict[str, Any]], Page]] = {
    "remove_tool_result": _remove_tool_results,
    "remove_tool_call_params": _remove_tool_call_params,
    "token_limit": _token_limit,
    "middle_out": _middle_out,
}


def apply_strategies(
    page: Sequence[tuple[str, Message]], strategies: Sequence[Strategy], pin_message_id: str | None = None
) -> EditResult:
    """Apply `strategies` (already sorted) to a page of (id, message) pairs.

    With a pin found in the page, only messages up to and including it are edited and the rest
    follow unchanged; `edit_at_message_id` is then the pin, otherwise the page's last id.
    """
    messages = list(page)
    last_id = messages[-1][0] if messages else None
    if not strategies:
        return EditResult(messages, set(), last_id)
    ids = [message_id for message_id, _ in messages]
    edit_at: str | None
    if pin_message_id and pin_message_id in ids:
        cut = ids.index(pin_message_id) + 1
        editable, frozen, edit_at = messages[:cut], messages[cut:], pin_message_id
    else:
        editable, frozen, edit_at = messages, [], last_id
    changed: set[str] = set()
    for strategy in strategies:
        editable = _APPLY[strategy.type](editable, changed, strategy.params)
    return EditResult(editable + frozen, changed, edit_at)
