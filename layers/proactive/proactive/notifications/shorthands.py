"""A task's or conversation's `notification_config` (`{"channels": ["email", "slack"],
"email_address", "slack_webhook_url", ...}` or `{"channel_ids": [...]}`) as the platform's own
channels: each address becomes a named channel of the workspace (made once, reused by every task
that gives the same address), so sending, retries, limits and the log are the channels'."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from proactive.errors import InvalidInput
from proactive.models.conversations import NotificationConfig
from proactive.notifications import channels, crud
from proactive.store import Store

_FIELD = {
    "email": "email_address",
    "slack": "slack_webhook_url",
    "discord": "discord_webhook_url",
    "ntfy": "ntfy_topic",
}


def _channel(kind: str, value: str) -> tuple[dict[str, Any], str]:
    """The channel config for a shorthand, and the channel's name (which says what it reaches,
    without a webhook URL's token)."""
    if kind == "email":
        return {"to": [value]}, f"email {value}"[:200]
    if kind == "ntfy":
        return {"topic": value}, f"ntfy {value}"
    digest = hashlib.sha256(value.encode()).hexdigest()[:8]
    return {"webhook_url": value}, f"{kind} webhook {digest}"


def resolve(
    store: Store, workspace_id: str, config: NotificationConfig | None, now: datetime, *, field: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(`notify` for the runs: channel ids and when, the config as the API shows it: URLs'
    tokens masked). InvalidInput naming `<field>.<key>` for an address a channel refuses."""
    if config is None:
        return None, None
    ids: list[str] = []
    shown: dict[str, Any] = {"channels": list(config.channels), "on": list(config.on)}
    for kind in config.channels:
        value = getattr(config, _FIELD[kind])
        channel_config, name = _channel(kind, value)
        try:
            ids.append(crud.shorthand(store, workspace_id, kind, channel_config, name, now))
        except InvalidInput as exc:
            raise InvalidInput(
                f"{field}.{_FIELD[kind]}: {exc.message}", field=f"{field}.{_FIELD[kind]}"
            ) from None
        shown[_FIELD[kind]] = channels.masked_url(value, kind) if kind in ("slack", "discord") else value
    for channel_id in config.channel_ids:
        store.channels.referenced(channel_id, workspace_id, field=f"{field}.channel_ids")
        if channel_id not in ids:
            ids.append(channel_id)
    shown["channel_ids"] = ids
    return {"channels": ids, "on": list(config.on)}, shown
