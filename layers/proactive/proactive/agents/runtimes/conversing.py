"""What an llm agent needs to hold a conversation: the history in the model's terms, and what
it produces handed on as it produces it (for a streamed answer)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


def model_messages(history: list[dict[str, str]]) -> list[Any]:
    """A conversation's messages as the model's history: user turns as requests, the assistant's
    as its responses."""
    from pydantic_ai.messages import ModelRequest, ModelResponse, TextPart, UserPromptPart

    return [
        ModelRequest(parts=[UserPromptPart(content=m["content"])])
        if m["role"] == "user"
        else ModelResponse(parts=[TextPart(content=m["content"])])
        for m in history
    ]


def streamer(emit: Callable[[str, dict[str, Any]], None]) -> Callable[[Any, Any], Awaitable[None]]:
    """An event handler that passes on, as they arrive, the text the model writes (`delta`) and
    the tools it calls (`tool_call`)."""
    from pydantic_ai.messages import (
        FunctionToolCallEvent,
        PartDeltaEvent,
        PartStartEvent,
        TextPart,
        TextPartDelta,
    )

    async def handle(_ctx: Any, events: Any) -> None:
        async for event in events:
            if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart) and event.part.content:
                emit("delta", {"text": event.part.content})
            elif (
                isinstance(event, PartDeltaEvent)
                and isinstance(event.delta, TextPartDelta)
                and event.delta.content_delta
            ):
                emit("delta", {"text": event.delta.content_delta})
            elif isinstance(event, FunctionToolCallEvent):
                emit(
                    "tool_call",
                    {
                        "id": event.part.tool_call_id,
                        "tool": event.part.tool_name,
                        "arguments": event.part.args_as_dict(),
                    },
                )

    return handle
