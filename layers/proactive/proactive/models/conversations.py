"""Conversations: what the API accepts and shows (and the notification shorthands tasks share)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from proactive.models.common import Input, Name, Patch, ResourceId, TaskText, WorkspaceId
from proactive.models.notifications import CHANNEL_REMOVED, NotifyOn
from proactive.models.runs import RunStatus, Usage

PatternType = Literal["chatbot", "sidekick", "deep_research"]
ShorthandChannel = Literal["email", "slack", "discord", "ntfy"]
# A sidekick's application state rides along with every turn: kept small.
MAX_CONTEXT_BYTES = 32_000


def _bounded_context(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode())
    if size > MAX_CONTEXT_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_CONTEXT_BYTES} are kept")
    return value


ContextData = Annotated[dict[str, Any], AfterValidator(_bounded_context)]


class NotificationConfig(Input):
    """Who hears when a task's run (or a deep research) is done: channels by type, with what each
    needs, or existing channel ids. Either way the platform's channels do the sending."""

    channels: list[ShorthandChannel] = Field(default_factory=list, max_length=4)
    email_address: Annotated[str, StringConstraints(max_length=254)] | None = None
    slack_webhook_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    discord_webhook_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    ntfy_topic: Annotated[str, StringConstraints(max_length=64)] | None = None
    channel_ids: list[ResourceId] = Field(default_factory=list, max_length=10)
    on: list[NotifyOn] = Field(
        default_factory=lambda: list[NotifyOn](["success", "failure"]),
        description="When to tell them (default: when it is done, either way).",
    )

    @model_validator(mode="after")
    def _what_each_needs(self) -> NotificationConfig:
        needs = {
            "email": "email_address",
            "slack": "slack_webhook_url",
            "discord": "discord_webhook_url",
            "ntfy": "ntfy_topic",
        }
        for channel in self.channels:
            if getattr(self, needs[channel]) is None:
                raise ValueError(f"channel {channel!r} needs {needs[channel]}")
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels lists the same channel more than once")
        return self


class ConversationCreate(Input):
    pattern_type: PatternType = "chatbot"
    agent_id: ResourceId | None = Field(
        default=None, description="Default: the workspace's default_agent_id (PUT /api/workspace/settings)."
    )
    workspace_id: WorkspaceId | None = Field(default=None, description="Default: the token's only workspace.")
    title: Name | None = None
    context_data: ContextData = Field(
        default_factory=dict,
        description="A sidekick's application state, which the agent sees on every turn (JSON, at most "
        f"{MAX_CONTEXT_BYTES} bytes).",
    )
    notification_config: NotificationConfig | None = Field(
        default=None, description="Who is told when a deep research is done."
    )


class ConversationUpdate(Patch):
    _nullable = frozenset({"notification_config"})

    title: Name | None = None
    context_data: ContextData | None = None
    notification_config: NotificationConfig | None = None


class Conversation(BaseModel):
    id: str
    workspace_id: str
    pattern_type: PatternType
    agent_id: str
    title: str | None = None
    context_data: dict[str, Any] = Field(default_factory=dict)
    notification_config: dict[str, Any] | None = Field(
        default=None, description="As given, with webhook URLs' tokens masked."
    )
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)
    message_count: int = 0
    active_run_id: str | None = Field(default=None, description="The run answering now, while one is.")
    last_message_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


class MessageCreate(Input):
    message: TaskText
    stream: bool = Field(
        default=False,
        description="Answer with Server-Sent Events: `delta` {text} as the model writes, `tool_call`, "
        "then `message` (the stored answer with its usage), or `error`.",
    )


class ContinueRequest(Input):
    stream: bool = False
    instruction: TaskText | None = Field(
        default=None, description="What to carry on with; default: pick up where the conversation left off."
    )


MessageRole = Literal["user", "assistant", "progress"]


class Message(BaseModel):
    id: str
    conversation_id: str
    role: MessageRole = Field(description="progress: a step of a deep research, as it happened.")
    content: str
    created_at: datetime
    run_id: str | None = Field(default=None, description="The run (turn) this message belongs to.")
    status: Literal["complete", "failed"] = "complete"
    error: str | None = None
    usage: Usage | None = None


class TurnAccepted(BaseModel):
    """A turn that goes on in the background (deep research, or a retry after a model failure)."""

    conversation_id: str
    run_id: str
    status: RunStatus
    message: Message | None = Field(default=None, description="The user's message, as stored.")
    detail: str
