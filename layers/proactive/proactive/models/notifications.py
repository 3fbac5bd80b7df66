"""Notification channels, what a resource notifies, the notification log and workspace settings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from proactive.models.common import Input, Name, Patch, Record, ResourceId, Shown, WorkspaceId, hidden

# What each item naming channels shows once a channel it named was deleted (`?force=true`).
CHANNEL_REMOVED = (
    "Why a channel was removed from this: it was deleted with `?force=true` (which channel, and when)."
)

ChannelType = Literal["discord", "slack", "ntfy", "email", "webhook"]
NotifyOn = Literal["start", "success", "failure"]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("lists the same item more than once")
    return values


class NotifyConfig(Input):
    """Who hears about the runs a resource starts, and when."""

    channels: Annotated[list[ResourceId], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=10, description="Notification channel ids of the same workspace."
    )
    on: Annotated[list[NotifyOn], AfterValidator(_unique)] = Field(
        default_factory=lambda: list[NotifyOn](["failure"]),
        description="start: a run started; success: it succeeded; failure: it failed for good (after its "
        "last retry, once).",
    )


class ChannelCreate(Input):
    workspace_id: WorkspaceId
    name: Name
    type: ChannelType
    config: dict[str, Any] = Field(
        description="discord: {webhook_url}; slack: {webhook_url}; ntfy: {topic, server?, token_secret?}; "
        "email: {to: [...]}; webhook: {url}."
    )
    is_active: bool = True


class ChannelUpdate(Patch):
    name: Name | None = None
    config: dict[str, Any] | None = None
    is_active: bool | None = None


class ChannelRecord(Record):
    """A notification channel as stored: its type's `config` as `channels.validate` gave it
    (a Discord or Slack webhook URL, with its token, in clear), and a webhook channel's signing
    `secret` (sealed in the table, plaintext here)."""

    workspace_id: str
    name: str
    type: ChannelType
    config: dict[str, Any]
    is_active: bool
    disabled_reason: str | None = Field(
        default=None, description="Why the platform turned the channel off (the receiver said it is gone)."
    )
    created_at: datetime
    updated_at: datetime
    secret: str | None = None


class Channel(ChannelRecord, Shown):
    config: dict[str, Any] = Field(description="As stored, with webhook URLs' tokens masked.")
    secret: SkipJsonSchema[str | None] = hidden()


class ChannelWithSecret(Channel):
    secret: str | None = Field(
        default=None,
        description="Shown only now, for a webhook channel: the key its messages are signed with.",
    )


SubscriberKind = Literal[
    "schedules",
    "triggers",
    "monitors",
    "agents",
    "actions",
    "tasks",
    "conversations",
    "autonomy",
    "workspace_settings",
]


class ChannelSubscription(BaseModel):
    """One thing that tells a channel, and of which events."""

    kind: SubscriberKind = Field(
        description="What it is: a schedule, trigger, monitor, agent, task or conversation whose "
        "`notify` names the channel, a goal-loop notify action, autonomous mode, or the "
        "workspace's default channels (`workspace_settings`)."
    )
    id: str = Field(description="Its id (the workspace's id for autonomous mode and the defaults).")
    name: str
    events: list[str] = Field(
        description="The events it tells the channel of, as the notification log names them "
        "(run.started, run.succeeded, run.failed, monitor.failing, occurrence.missed, ...)."
    )


class ChannelSubscriptions(BaseModel):
    channel_id: str
    items: list[ChannelSubscription]


class InlineChannel(Input):
    type: ChannelType
    config: dict[str, Any]


class TestNotification(Input):
    workspace_id: WorkspaceId | None = None
    channel_id: ResourceId | None = None
    channel: InlineChannel | None = None
    message: str = Field(default="This is a test message from Proactive.", max_length=2000)


class SendOutcome(BaseModel):
    status: Literal["sent", "retry", "gone", "failed"]
    http_status: int | None = None
    answer: str = Field(description="What the receiver said.")
    retry_after: float | None = None
    reason: str | None = None


NotificationStatus = Literal["queued", "sent", "retrying", "failed", "dropped"]


class NotificationRecord(Record):
    """One message to one channel, as stored: what it says (`notice`, as `outbox.notice_to_dict`
    gave it), how its attempts went, and the notification it is sent after (`after`: a run's
    start, for its end)."""

    workspace_id: str
    channel_id: str
    channel_type: ChannelType
    event: str
    title: str
    run_id: str | None = None
    subject_id: str | None = None
    status: NotificationStatus
    attempts: int = 0
    http_status: int | None = None
    answer: str | None = Field(default=None, description="The receiver's last answer.")
    reason: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    notice: dict[str, Any] = Field(default_factory=dict)
    after: str | None = None
    created_at: datetime


class Notification(NotificationRecord, Shown):
    notice: SkipJsonSchema[dict[str, Any]] = hidden()
    after: SkipJsonSchema[str | None] = hidden()


class WorkspaceSettings(BaseModel):
    workspace_id: str
    default_agent_id: str | None = Field(default=None, description="The agent conversations and tasks use.")
    default_channels: list[str] = Field(
        default_factory=list,
        description="Told of every run's final failure, monitors failing and recovering, missed "
        "occurrences, and runs left by a failing queue message.",
    )
    channel_removed_reason: str | None = Field(default=None, description=CHANNEL_REMOVED)


class WorkspaceSettingsUpdate(Input):
    workspace_id: WorkspaceId | None = None
    # Shown by GET, so what GET shows can be sent back as it is; set by the platform only.
    channel_removed_reason: str | None = Field(default=None, description="Ignored: " + CHANNEL_REMOVED)
    default_agent_id: ResourceId | None = None
    default_channels: Annotated[list[ResourceId], AfterValidator(_unique)] | None = Field(
        default=None, max_length=10
    )
