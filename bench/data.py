"""The messages the bench stores and converts: a realistic agent conversation with tool calls."""

from __future__ import annotations

from typing import Any

__all__ = ["anthropic_conversation", "openai_conversation", "openai_text_message"]

_WEATHER = {"location": "Paris", "unit": "celsius", "days": 2}


def openai_text_message(n: int) -> dict[str, Any]:
    """An OpenAI text message, about as long as the one the store workload sends."""
    role = "user" if n % 2 == 0 else "assistant"
    return {
        "role": role,
        "content": f"Message {n}: what is the weather in Paris tomorrow, and should I pack an umbrella"
        " for the afternoon walk along the Seine?",
    }


def openai_conversation(turns: int = 2) -> list[dict[str, Any]]:
    """System prompt, then `turns` rounds of user → assistant tool call → tool result → assistant."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are a concise travel assistant. Use tools for live data."},
    ]
    for t in range(turns):
        call_id = f"call_{t:04d}weather"
        messages += [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Round {t}: will it rain in Paris over the next two days?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/sky.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": "Let me check the forecast.",
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"location":"Paris","days":2}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": '{"rain_mm":[0.0,3.2],"temp_c":[18,15]}'},
            {"role": "assistant", "content": "Dry tomorrow, about 3 mm of rain the day after: pack an umbrella."},
        ]
    return messages


def anthropic_conversation(turns: int = 2) -> dict[str, Any]:
    """The same conversation as an Anthropic Messages request body (system + messages)."""
    messages: list[dict[str, Any]] = []
    for t in range(turns):
        tool_id = f"toolu_{t:04d}weather"
        messages += [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": f"Round {t}: will it rain in Paris over the next two days?"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/sky.png"}},
                ],
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me check the forecast."},
                    {"type": "tool_use", "id": tool_id, "name": "get_weather", "input": dict(_WEATHER)},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": tool_id,
                        "content": '{"rain_mm":[0.0,3.2],"temp_c":[18,15]}',
                    }
                ],
            },
            {
                "role": "assistant",
                "content": [{"type": "text", "text": "Dry tomorrow, about 3 mm of rain the day after."}],
            },
        ]
    return {"system": "You are a concise travel assistant. Use tools for live data.", "messages": messages}
