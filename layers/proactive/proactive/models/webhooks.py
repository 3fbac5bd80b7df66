"""Webhooks and their delivery log: what the API accepts and shows, and each as the table holds it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from proactive.models.common import Input, Name, Patch, Record, ResourceId, Shown, WorkspaceId, hidden
from proactive.models.runs import UNREADABLE, Run
from proactive.models.triggers import DeliveryStatus

SignatureScheme = Literal["standard", "github", "hmac-sha256"]


class WebhookCreate(Input):
    workspace_id: WorkspaceId
    name: Name
    trigger_id: ResourceId
    signature_scheme: SignatureScheme | None = Field(
        default=None, description="Defaults to 'github' for a github trigger, else 'standard'."
    )
    rate_limit_per_minute: int = Field(default=60, ge=1, le=10_000)
    is_active: bool = True


class WebhookUpdate(Patch):
    name: Name | None = None
    trigger_id: ResourceId | None = None
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=10_000)
    is_active: bool | None = None


class RegenerateSecret(Input):
    grace_period_seconds: int | None = Field(
        default=None,
        ge=0,
        le=30 * 24 * 3600,
        description="How long the old secret stays valid (default 24 h).",
    )


class WebhookRecord(Record):
    """A webhook as the table holds it: its signing `secret` and, while a rotation's grace period
    lasts, the `previous_secret` (both sealed in the table, plaintext here)."""

    workspace_id: str
    name: str
    trigger_id: str
    url_path: str
    signature_scheme: SignatureScheme
    rate_limit_per_minute: int
    is_active: bool
    secret: str
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    created_at: datetime
    updated_at: datetime


class HookRecord(Record):
    """The fields of a webhook that ingest reads (`store.keys.HOOK_FIELDS`), as the index of
    public paths holds them: found in one call, without the rest of the webhook."""

    workspace_id: str
    trigger_id: str
    is_active: bool
    signature_scheme: SignatureScheme
    secret: str
    previous_secret: str | None = None
    previous_secret_expires_at: datetime | None = None
    rate_limit_per_minute: int


# A webhook as the API shows it: where senders deliver, never its secrets.
class Webhook(WebhookRecord, Shown):
    webhook_url: str
    secret: SkipJsonSchema[str] = hidden()
    previous_secret: SkipJsonSchema[str | None] = hidden()


class WebhookWithSecret(Webhook):
    secret: str = Field(description="Shown only now: store it with the sender.")


class DeliveryRecord(Record):
    """One delivery to a webhook, accepted or not, as the delivery log holds it, with its
    `payload` read back and `payload_ref` (where the payload is stored, for the run it starts;
    None for a delivery stored with its payload inside, or without one)."""

    webhook_id: str
    workspace_id: str
    # The trigger an accepted delivery is for (a delivery that was not accepted names none).
    trigger_id: str | None = None
    received_at: datetime
    status: DeliveryStatus
    reason: str | None = None
    run_id: str | None = None
    delivery_key: str | None = Field(default=None, description="The sender's delivery id (or a body hash).")
    event: str | None = None
    payload: Any = None
    payload_ref: str | None = None


class Delivery(DeliveryRecord, Shown):
    unreadable: list[str] | None = Field(default=None, description=UNREADABLE)
    trigger_id: str | None = Field(
        default=None,
        description="The trigger the delivery was evaluated against (none for one refused at the "
        "door: unsigned, unreadable, over the rate limit or a duplicate).",
    )
    workspace_id: SkipJsonSchema[str] = hidden()
    payload_ref: SkipJsonSchema[str | None] = hidden()


class WebhookTest(Input):
    payload: dict[str, Any] | None = Field(
        default=None,
        description="The event payload to deliver; default: a small payload saying it is a test.",
    )
    event: str | None = Field(
        default=None,
        max_length=200,
        description="The event name the delivery carries, in the header its scheme names "
        "(webhook-event, X-GitHub-Event or X-Event-Type).",
    )


class WebhookTestResult(BaseModel):
    """What a signed test delivery to the webhook's URL came to."""

    status_code: int = Field(
        description="What the webhook's URL answered: 202 accepted, 200 a duplicate, 400 a body it "
        "cannot read, 409 the webhook is paused, 429 over its rate limit."
    )
    answer: dict[str, Any] = Field(description="The body of that answer.")
    delivery: Delivery | None = Field(
        default=None,
        description="The delivery as its log holds it, evaluated against its trigger (none when it "
        "was not stored).",
    )
    run: Run | None = Field(
        default=None, description="The run it started (queued for the worker), when its trigger took it."
    )
