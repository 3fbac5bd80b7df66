"""Notification channels: named per workspace, validated by type, shown masked (webhook URLs of
Discord and Slack carry tokens), and a webhook channel's signing secret shown once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from proactive.ids import new_id
from proactive.models.notifications import Channel, ChannelCreate, ChannelRecord, ChannelUpdate
from proactive.notifications import channels
from proactive.store import Store
from proactive.store.entities import modify


def present(channel: ChannelRecord) -> Channel:
    """The channel as the API shows it: no secret, URLs' tokens masked."""
    return Channel.model_validate(
        {**channel.model_dump(), "config": channels.mask(channel.type, channel.config)}
    )


def create_channel(store: Store, data: ChannelCreate, now: datetime) -> ChannelRecord:
    """Create a channel; for a webhook channel the returned one has its secret (shown once)."""
    channel = ChannelRecord(
        id=new_id("chan"),
        workspace_id=data.workspace_id,
        name=data.name,
        type=data.type,
        config=channels.validate(data.type, data.config),
        is_active=data.is_active,
        disabled_reason=None,
        secret=channels.new_channel_secret() if data.type == "webhook" else None,
        created_at=now,
        updated_at=now,
    )
    store.channels.put(channel)
    return channel


def get_channel(store: Store, channel_id: str, workspaces: frozenset[str]) -> ChannelRecord:
    return store.channels.owned(channel_id, workspaces)


def update_channel(
    store: Store, channel_id: str, data: ChannelUpdate, workspaces: frozenset[str], now: datetime
) -> ChannelRecord:
    """Rename, reconfigure, turn on or off. Turning a channel the platform disabled back on (or
    giving it a new config) clears its `disabled_reason`."""
    requested = data.model_dump(exclude_unset=True)

    def write(channel: ChannelRecord) -> ChannelRecord:
        changes = dict(requested)
        if "config" in changes:
            changes["config"] = channels.validate(channel.type, changes["config"])
        if changes.get("is_active") or "config" in changes:
            changes["disabled_reason"] = None
        changes["updated_at"] = now
        return store.channels.update(channel_id, changes, expect_version=channel.version)

    return modify(lambda: get_channel(store, channel_id, workspaces), write, what=f"channel {channel_id!r}")


def shorthand(
    store: Store, workspace_id: str, type_: str, config: Mapping[str, Any], name: str, now: datetime
) -> str:
    """The id of the workspace's channel called `name`, made or reconfigured to `config` (how
    autonomous mode's `discord_webhook` and `ntfy_topic`, and tasks' notification settings, turn
    into channels)."""
    for channel in store.channels.all_in(workspace_id):
        if channel.name == name and channel.type == type_:
            if channel.config != channels.validate(type_, config) or not channel.is_active:
                store.channels.update(
                    channel.id,
                    {"config": channels.validate(type_, config), "is_active": True, "disabled_reason": None},
                )
            return channel.id
    made = create_channel(
        store,
        ChannelCreate.model_validate(
            {"workspace_id": workspace_id, "name": name, "type": type_, "config": dict(config)}
        ),
        now,
    )
    return made.id
