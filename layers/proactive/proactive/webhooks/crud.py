"""Webhooks made, read, changed and deleted, and their signing secrets rotated."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from proactive.clock import iso
from proactive.errors import InvalidInput
from proactive.ids import new_id
from proactive.lib.signatures import new_secret, rotated
from proactive.models.webhooks import RegenerateSecret, Webhook, WebhookCreate, WebhookRecord, WebhookUpdate
from proactive.observability import logger
from proactive.store import Store
from proactive.store.entities import modify


def webhook_url(base_url: str, url_path: str) -> str:
    return f"{base_url.rstrip('/')}/api/hooks/{url_path}"


def present(webhook: WebhookRecord, base_url: str, now: datetime) -> Webhook:
    """The webhook as the API shows it: its URL, and when its previous secret stops signing
    while that is still to come; never its secrets."""
    expires = webhook.previous_secret_expires_at
    return Webhook.model_validate(
        {
            **webhook.model_dump(),
            "previous_secret_expires_at": expires if expires and expires > now else None,
            "webhook_url": webhook_url(base_url, webhook.url_path),
        }
    )


def _require_trigger(store: Store, trigger_id: str, workspace_id: str) -> dict[str, Any]:
    trigger = store.triggers.referenced(trigger_id, workspace_id, field="trigger_id")
    if trigger["trigger_type"] not in ("webhook", "github"):
        raise InvalidInput(
            f"trigger {trigger_id!r} is a {trigger['trigger_type']!r} trigger; "
            "a webhook delivers to a 'webhook' or 'github' trigger",
            field="trigger_id",
        )
    return trigger


def create_webhook(
    store: Store, data: WebhookCreate, now: datetime, *, url_path: str | None = None
) -> WebhookRecord:
    """Create a webhook; the returned record includes the secret, which is shown only this once.
    `url_path` (default: a new random one) is where it is reached under `/api/hooks/`."""
    trigger = _require_trigger(store, data.trigger_id, data.workspace_id)
    scheme = data.signature_scheme or ("github" if trigger["trigger_type"] == "github" else "standard")
    webhook = WebhookRecord(
        id=new_id("webhook"),
        workspace_id=data.workspace_id,
        name=data.name,
        trigger_id=data.trigger_id,
        url_path=url_path or str(uuid.uuid4()),
        signature_scheme=scheme,
        rate_limit_per_minute=data.rate_limit_per_minute,
        is_active=data.is_active,
        secret=new_secret(scheme),
        previous_secret=None,
        previous_secret_expires_at=None,
        created_at=now,
        updated_at=now,
    )
    store.webhooks.put(webhook)
    logger.info("webhook created", extra={"webhook_id": webhook.id, "scheme": scheme})
    return webhook


def get_webhook(store: Store, webhook_id: str, workspaces: frozenset[str]) -> WebhookRecord:
    return store.webhooks.owned(webhook_id, workspaces)


def update_webhook(
    store: Store, webhook_id: str, data: WebhookUpdate, workspaces: frozenset[str], now: datetime
) -> WebhookRecord:
    webhook = get_webhook(store, webhook_id, workspaces)
    changes = data.model_dump(exclude_unset=True)
    if "trigger_id" in changes:
        _require_trigger(store, changes["trigger_id"], webhook.workspace_id)
    if changes.get("is_active"):
        changes["paused_reason"] = None
    return store.webhooks.update(webhook_id, {**changes, "updated_at": iso(now)})


def regenerate_secret(
    store: Store,
    webhook_id: str,
    data: RegenerateSecret,
    workspaces: frozenset[str],
    now: datetime,
    default_grace_seconds: int,
) -> WebhookRecord:
    """A new secret; the old one stays valid for the grace period so senders can rotate. Two
    rotations at once keep each other's secret: the second is based on the first."""
    grace = default_grace_seconds if data.grace_period_seconds is None else data.grace_period_seconds

    def write(webhook: WebhookRecord) -> WebhookRecord:
        changes = {
            **rotated(webhook.secret, new_secret(webhook.signature_scheme), grace, now),
            "updated_at": iso(now),
        }
        return store.webhooks.update(webhook_id, changes, expect_version=webhook.version)

    return modify(lambda: get_webhook(store, webhook_id, workspaces), write, what=f"webhook {webhook_id!r}")


def delete_webhook(store: Store, webhook_id: str, workspaces: frozenset[str]) -> None:
    get_webhook(store, webhook_id, workspaces)
    store.webhooks.delete(webhook_id)
