"""In-process codec baselines: raw tiktoken, and LiteLLM's converters against acx's on the same messages.

LiteLLM functions are the ones the conversion spec (§9) ran: for OpenAI sources
`split_leading_system_run` + `AnthropicConfig().translate_system_message` + `anthropic_messages_pt`,
and `transform_system_message` + `gemini_convert_messages_with_history`; for Anthropic sources
`LiteLLMAnthropicMessagesAdapter.translate_anthropic_messages_to_openai`. Inputs are deep-copied
before the clock starts, because LiteLLM mutates them.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from acx import codecs, tokens
from bench.data import anthropic_conversation, openai_conversation

__all__ = ["ConvertRates", "compare_converters", "tiktoken_rates"]

_BATCH = 50


@dataclass(frozen=True)
class ConvertRates:
    """Messages per second of one conversion direction, acx vs LiteLLM."""

    direction: str
    acx_msgs_per_s: float
    litellm_msgs_per_s: float

    @property
    def ratio(self) -> float:
        """How many times faster acx is."""
        return self.acx_msgs_per_s / self.litellm_msgs_per_s if self.litellm_msgs_per_s else 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return {**asdict(self), "ratio": self.ratio}


def _rate(func: Callable[[Any], object], source: Any, messages: int, duration: float) -> float:
    """Messages converted per second by `func` on fresh deep copies of `source`."""
    done, spent = 0, 0.0
    while spent < duration:
        copies = [copy.deepcopy(source) for _ in range(_BATCH)]
        start = time.perf_counter()
        for item in copies:
            func(item)
        spent += time.perf_counter() - start
        done += _BATCH
    return done * messages / spent


def _litellm() -> dict[str, Callable[[Any], object]]:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    from litellm.litellm_core_utils.prompt_templates.factory import anthropic_messages_pt  # noqa: PLC0415
    from litellm.litellm_core_utils.prompt_templates.mid_conversation_system import (  # noqa: PLC0415
        split_leading_system_run,
    )
    from litellm.llms.anthropic.chat.transformation import AnthropicConfig  # noqa: PLC0415
    from litellm.llms.anthropic.pass_through.adapters.transformation import (  # noqa: PLC0415
        LiteLLMAnthropicMessagesAdapter,
    )
    from litellm.llms.vertex_ai.gemini.transformation import (  # noqa: PLC0415
        gemini_convert_messages_with_history,
        transform_system_message,
    )

    config = AnthropicConfig()
    adapter = LiteLLMAnthropicMessagesAdapter()

    def openai_to_anthropic(messages: list[dict[str, Any]]) -> object:
        leading, rest = split_leading_system_run(messages)
        system = config.translate_system_message(list(leading))
        return system, anthropic_messages_pt(list(rest), model="claude-sonnet-4-5", llm_provider="anthropic")

    def openai_to_gemini(messages: list[dict[str, Any]]) -> object:
        system, rest = transform_system_message(True, messages)
        return system, gemini_convert_messages_with_history(rest, model="gemini-2.5-flash")

    def anthropic_to_openai(request: dict[str, Any]) -> object:
        system = [{"role": "system", "content": request["system"]}]
        return system + adapter.translate_anthropic_messages_to_openai(request["messages"])

    return {
        "openai->anthropic": openai_to_anthropic,
        "openai->gemini": openai_to_gemini,
        "anthropic->openai": anthropic_to_openai,
    }


def compare_converters(duration: float) -> list[ConvertRates]:
    """acx.codecs.convert vs LiteLLM per direction, single thread, same messages."""
    oa, an = openai_conversation(), anthropic_conversation()
    cases: dict[str, tuple[Any, int, Callable[[Any], object]]] = {
        "openai->anthropic": (oa, len(oa), lambda s: codecs.convert("openai", "anthropic", s)),
        "openai->gemini": (oa, len(oa), lambda s: codecs.convert("openai", "gemini", s)),
        "anthropic->openai": (an, len(an["messages"]) + 1, lambda s: codecs.convert("anthropic", "openai", s)),
    }
    theirs = _litellm()
    results = []
    for direction, (source, count, ours) in cases.items():
        theirs[direction](copy.deepcopy(source))  # warm up (lazy imports)
        ours(copy.deepcopy(source))
        results.append(
            ConvertRates(
                direction,
                _rate(ours, source, count, duration),
                _rate(theirs[direction], source, count, duration),
            )
        )
    return results


def tiktoken_rates(duration: float) -> dict[str, float]:
    """Tokens/s of raw tiktoken `encode_ordinary` and of acx's per-message count on the same text."""
    from acx import rendering  # noqa: PLC0415

    encoding = tokens.get_encoding()
    messages, state = [], "{}"
    for blob in openai_conversation(4):
        ingested = rendering.ingest("openai", blob, state)
        messages.append(ingested.message)
        state = ingested.new_state_json.decode()
    texts = [tokens.message_text(m) for m in messages]
    per_round = sum(len(encoding.encode_ordinary(t)) for t in texts)

    def rate(step: Callable[[], object]) -> float:
        rounds, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < duration:
            step()
            rounds += 1
        return rounds * per_round / elapsed

    raw = rate(lambda: [encoding.encode_ordinary(t) for t in texts])
    ours = rate(lambda: [tokens.count_tokens(m) for m in messages])
    return {"tiktoken_tokens_per_s": raw, "acx_count_tokens_per_s": ours}
