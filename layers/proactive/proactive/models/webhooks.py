"""Webhooks and their delivery log: what the API accepts and shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from proactive.models.common import Input, Name, Patch, ResourceId, WorkspaceId
from proactive.models.runs import UNREADABLE
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


class Webhook(BaseModel):
    id: str
    workspace_id: str
    name: str
    trigger_id: str
    url_path: str
    webhook_url: str
    signature_scheme: SignatureScheme
    rate_limit_per_minute: int
    is_active: bool
    previous_secret_expires_at: datetime | None = None
    paused_reason: str | None = Field(
        default=None,
        description="Why the platform paused it (e.g. its agent was deleted); none when a person did.",
    )
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(Webhook):
    secret: str = Field(description="Shown only now: store it with the sender.")


class Delivery(BaseModel):
    id: str
    webhook_id: str
    received_at: datetime
    status: DeliveryStatus
    reason: str | None = None
    run_id: str | None = None
    delivery_key: str | None = Field(default=None, description="The sender's delivery id (or a body hash).")
    event: str | None = None
    payload: Any = None
    unreadable: list[str] | None = Field(default=None, description=UNREADABLE)
