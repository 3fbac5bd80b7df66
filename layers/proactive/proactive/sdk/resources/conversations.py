"""`/conversations`: conversations with an agent, answered whole or streamed as it writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, Field

from proactive.models.common import Page
from proactive.models.conversations import Conversation, Message, TurnAccepted
from proactive.models.runs import FINAL_STATUSES, RunStatus
from proactive.sdk import sse
from proactive.sdk.calls import Mode, call, each, paged, streamed
from proactive.sdk.client import ProactiveError
from proactive.sdk.resources.base import DEFAULT_LIMIT, Deletes, Listed, Managed


class Delta(BaseModel):
    """A piece of the answer's text, as the model writes it (`event: delta`)."""

    text: str


class ToolCall(BaseModel):
    """A tool the agent called while answering (`event: tool_call`)."""

    id: str | None = None
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


# What a streamed turn yields: deltas and tool calls as they happen, then the stored answer
# (`Message`), or `TurnAccepted` when the turn goes on in the background.
StreamEvent = Delta | ToolCall | Message | TurnAccepted


class TurnFailed(ProactiveError):
    """A streamed turn that ended without an answer: the agent failed, or the turn was cancelled.
    `run_id` is the run that records why; `run_status` its status when the stream ended."""

    def __init__(self, message: str, *, run_id: str | None, run_status: str | None) -> None:
        super().__init__(502, "agent_failed", message)
        self.run_id = run_id
        self.run_status = run_status


def _turn(status: int, answer: Any) -> Message | TurnAccepted:
    return TurnAccepted.model_validate(answer) if status == 202 else Message.model_validate(answer)


class Conversations(
    Managed[Conversation, Conversation, Mode], Listed[Conversation, Mode], Deletes[Conversation, Mode]
):
    """`/conversations`: a conversation with an agent (`chatbot`, `sidekick` with application state
    the agent sees each turn, or `deep_research`, whose turns go on in the background).
    `create(pattern_type="chatbot", agent_id=..., title=..., context_data={...})`; the agent
    defaults to the workspace's `default_agent_id`."""

    path, model, created = "/conversations", Conversation, Conversation

    @paged
    async def messages(
        self, conversation_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Message]:
        """A page of its messages, oldest first: the user's, the assistant's (with `run_id` and
        `usage`) and a deep research's `progress`."""
        return await self._page(Message, self._url(conversation_id, "messages"), {}, limit, cursor)

    iterate_messages = each(messages)

    @call
    async def send(self, conversation_id: str, message: str) -> Message | TurnAccepted:
        """Send a message and give back the agent's answer (a `Message`), which had the history
        (and a sidekick's `context_data`) in view. A deep research, or an answer that will be
        retried, gives `TurnAccepted`: the answer is appended to the messages later. 409 as
        ProactiveError while the previous message is still being answered; 502 when the agent
        could not answer."""
        status, answer = await self._transport.exchange(
            "POST", self._url(conversation_id, "messages"), json={"message": message, "stream": False}
        )
        return _turn(status, answer)

    @streamed
    async def stream(self, conversation_id: str, message: str) -> AsyncIterator[StreamEvent]:
        """Send a message and yield the answer as the agent writes it: `Delta`s of text and
        `ToolCall`s, then the stored `Message` (or `TurnAccepted` when the turn goes on in the
        background). TurnFailed (a ProactiveError) when the agent could not answer."""
        body = {"message": message, "stream": True}
        async for event in self._turn_events(conversation_id, "messages", body):
            yield event

    @call
    async def carry_on(
        self, conversation_id: str, *, instruction: str | None = None
    ) -> Message | TurnAccepted:
        """The agent carries on from the history without a new message from the user (after a
        deep research, say); `instruction` may say what to carry on with."""
        status, answer = await self._transport.exchange(
            "POST", self._url(conversation_id, "continue"), json={"instruction": instruction, "stream": False}
        )
        return _turn(status, answer)

    @streamed
    async def stream_carry_on(
        self, conversation_id: str, *, instruction: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """`carry_on`, its answer streamed as `stream` streams it. This route is served at the
        API's address, not `stream_url`: behind the AWS HTTP API, which buffers answers, the
        events arrive all at once, when the answer is done."""
        body = {"instruction": instruction, "stream": True}
        async for event in self._turn_events(conversation_id, "continue", body, at_api=True):
            yield event

    async def _turn_events(
        self, conversation_id: str, action: str, body: dict[str, Any], *, at_api: bool = False
    ) -> AsyncIterator[StreamEvent]:
        path = self._url(conversation_id, action)
        async with self._transport.stream("POST", path, json=body, at_api=at_api) as response:
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                await response.aread()
                yield _turn(response.status_code, response.json())
                return
            async for event in sse.events(response.aiter_lines()):
                data = event.json()
                if event.event == "delta":
                    yield Delta.model_validate(data)
                elif event.event == "tool_call":
                    yield ToolCall.model_validate(data)
                elif event.event == "message":
                    yield Message.model_validate(data)
                elif event.event == "error":
                    yield _ended(conversation_id, data)
                # Other events are ones this version of the SDK does not know: skipped.


def _ended(conversation_id: str, data: dict[str, Any]) -> TurnAccepted:
    """The `error` event: a turn that will be retried is accepted (its answer comes later, in the
    messages); one that ended without an answer raises TurnFailed."""
    run_id, status = data.get("run_id"), data.get("status")
    detail = str(data.get("error") or "the turn ended without an answer")
    if run_id and status and status not in FINAL_STATUSES:
        return TurnAccepted(
            conversation_id=conversation_id, run_id=run_id, status=RunStatus(status), detail=detail
        )
    raise TurnFailed(f"the agent could not answer (run {run_id}): {detail}", run_id=run_id, run_status=status)
