"""Webhooks made, read, changed and deleted, and their signing secrets rotated."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from proactive.clock import iso, parse_iso
from proactive.errors import InvalidInput
from proactive.ids import new_id
from proactive.lib.signatures import new_secret, rotated
from proactive.models.webhooks import RegenerateSecret, WebhookCreate, WebhookUpdate
from proactive.observability import logger
from proactive.store import Store
from proactive.store.entities import modify

_HIDDEN = ("secret", "previous_secret")


def webhook_url(base_url: str, url_path: str) -> str:
    return f"{base_url.rstrip('/')}/api/hooks/{url_path}"


def present(webhook: Mapping[str, Any], base_url: str, now: datetime) -> dict[str, Any]:
    """The webhook as the API shows it: never its secrets."""
    shown = {k: v for k, v in webhook.items() if k not in _HIDDEN}
    expires = webhook.get("previous_secret_expires_at")
    if not expires or parse_iso(expires) <= now:
        shown["previous_secret_expires_at"] = None
    shown["webhook_url"] = webhook_url(base_url, webhook["url_path"])
    return shown


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
) -> dict[str, Any]:
    """Create a webhook; the returned item includes the secret, which is shown only this once.
    `url_path` (default: a new random one) is where it is reached under `/api/hooks/`."""
    trigger = _require_trigger(store, data.trigger_id, data.workspace_id)
    scheme = data.signature_scheme or ("github" if trigger["trigger_type"] == "github" else "standard")
    webhook = {
        **data.model_dump(),
        "id": new_id("webhook"),
        "signature_scheme": scheme,
        "url_path": url_path or str(uuid.uuid4()),
        "secret": new_secret(scheme),
        "previous_secret": None,
        "previous_secret_expires_at": None,
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    store.webhooks.put(webhook)
    logger.info("webhook created", extra={"webhook_id": webhook["id"], "scheme": scheme})
    return webhook


def get_webhook(store: Store, webhook_id: str, workspaces: frozenset[str]) -> dict[str, Any]:
    return store.webhooks.owned(webhook_id, workspaces)


def update_webhook(
    store: Store, webhook_id: str, data: WebhookUpdate, workspaces: frozenset[str], now: datetime
) -> dict[str, Any]:
    webhook = get_webhook(store, webhook_id, workspaces)
    changes = data.model_dump(exclude_unset=True)
    if "trigger_id" in changes:
        _require_trigger(store, changes["trigger_id"], webhook["workspace_id"])
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
) -> dict[str, Any]:
    """A new secret; the old one stays valid for the grace period so senders can rotate. Two
    rotations at once keep each other's secret: the second is based on the first."""
    grace = default_grace_seconds if data.grace_period_seconds is None else data.grace_period_seconds

    def write(webhook: dict[str, Any]) -> dict[str, Any]:
        changes = {
            **rotated(webhook["secret"], new_secret(webhook["signature_scheme"]), grace, now),
            "updated_at": iso(now),
        }
        return store.webhooks.update(webhook_id, changes, expect_version=int(webhook.get("version") or 0))

    return modify(lambda: get_webhook(store, webhook_id, workspaces), write, what=f"webhook {webhook_id!r}")


def delete_webhook(store: Store, webhook_id: str, workspaces: frozenset[str]) -> None:
    get_webhook(store, webhook_id, workspaces)
    store.webhooks.delete(webhook_id)
