"""What refers to what, and deleting something others still use.

An agent is used by the schedules, triggers and monitors that start it, by the goal loop's
actions that give it tasks, by autonomous mode and as the workspace's default agent; a trigger by
the webhooks that deliver to it. Deleting one of those
while it is used would leave its users failing on every run, so it answers 409 naming them. With
`force`, each user is paused first, with the reason recorded on it (`paused_reason`; autonomous
mode is turned off and the default agent unset), and then the item is deleted.

A notification channel is named by the `notify` of schedules, triggers, monitors, agents, tasks
and conversations, by notify actions, by autonomous mode and by the workspace's default channels.
Deleting it while named would leave dangling ids (its notifications dropped, and the settings
naming it refused when saved back), so it too answers 409 naming them; with `force`, the channel
is taken out of each of them, each recording why (`channel_removed_reason`), and then deleted.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive import monitors, schedules
from proactive.agents import get_agent
from proactive.clock import iso
from proactive.errors import Conflict
from proactive.events import Bus
from proactive.models.notifications import ChannelRecord
from proactive.queue import RunQueue
from proactive.store import Store
from proactive.store.entities import field_of, fields_of, modify
from proactive.triggers import get_trigger


def _describe(users: dict[str, list[Any]]) -> str:
    return "; ".join(
        f"{len(items)} {kind}: "
        + ", ".join(f"{field_of(i, 'id')} ({field_of(i, 'name') or ''})" for i in items[:10])
        + (" ..." if len(items) > 10 else "")
        for kind, items in users.items()
        if items
    )


def _refuse(
    what: str,
    users: dict[str, list[Any]],
    remedy: str = "point them elsewhere or delete them first, or delete with ?force=true to pause each "
    "of them",
) -> Conflict:
    """409 naming each user of `what` in `details`, and what to do about them."""
    return Conflict(
        f"{what} is in use by {_describe(users)}; {remedy}",
        details=[
            {"field": kind, "message": ", ".join(field_of(i, "id") for i in items)}
            for kind, items in users.items()
            if items
        ],
    )


def agent_users(store: Store, agent: dict[str, Any]) -> dict[str, list[Any]]:
    """The schedules, triggers, monitors and goal-loop actions of the agent's workspace that
    start it, its autonomous mode if that runs it, and its settings if it is the default agent."""
    uses = Attr("agent_id").eq(agent["id"])
    ws = agent["workspace_id"]
    autonomy = store.autonomy.get(ws) or {}
    return {
        "schedules": store.schedules.all_in(ws, filters=uses),
        "triggers": store.triggers.all_in(ws, filters=uses),
        "monitors": store.monitors.all_in(ws, filters=uses),
        "actions": store.actions.all_in(ws, filters=uses),
        "autonomy": [{"id": ws, "name": "autonomous mode"}]
        if autonomy.get("agent_id") == agent["id"]
        else [],
        "workspace_settings": (
            [{"id": ws, "name": "default_agent_id"}]
            if store.workspaces.get(ws).get("default_agent_id") == agent["id"]
            else []
        ),
    }


def delete_agent(
    store: Store,
    queue: RunQueue,
    bus: Bus,
    agent_id: str,
    workspaces: frozenset[str],
    now: datetime,
    *,
    force: bool,
) -> dict[str, list[str]]:
    """Delete an agent; 409 naming its users, unless `force`, which pauses them first. Returns
    the ids of what was paused."""
    agent = get_agent(store, agent_id, workspaces)
    users = agent_users(store, agent)
    if any(users.values()) and not force:
        raise _refuse(f"agent {agent_id!r}", users)
    reason = f"paused when its agent {agent_id} ({agent['name']}) was deleted"
    for schedule in users["schedules"]:
        schedules.set_active(store, queue, bus, schedule.id, False, workspaces, now, reason=reason)
    for trigger in users["triggers"]:
        modify(
            partial(get_trigger, store, trigger["id"], workspaces),
            lambda current: store.triggers.change(current, _paused(reason, now)),
            what=f"trigger {trigger['id']!r}",
        )
    for monitor in users["monitors"]:
        monitors.set_active(store, monitor.id, False, workspaces, now, reason=reason)
    for action in users["actions"]:
        modify(
            partial(store.actions.owned, action["id"], workspaces),
            lambda current: store.actions.change(current, _paused(reason, now)),
            what=f"action {action['id']!r}",
        )
    if users["autonomy"]:
        from proactive import autonomy

        # Turned off, and without an agent until one is given again.
        autonomy.save_config(store, agent["workspace_id"], {"enabled": False, "agent_id": None}, now)
    if users["workspace_settings"]:
        store.workspaces.set(agent["workspace_id"], {"default_agent_id": None})
    store.agents.delete(agent_id)
    return {kind: [field_of(i, "id") for i in items] for kind, items in users.items()}


def delete_trigger(
    store: Store, trigger_id: str, workspaces: frozenset[str], now: datetime, *, force: bool
) -> dict[str, list[str]]:
    """Delete a trigger; 409 naming the webhooks that deliver to it, unless `force`, which pauses
    them first."""
    trigger = get_trigger(store, trigger_id, workspaces)
    users = {
        "webhooks": store.webhooks.all_in(trigger["workspace_id"], filters=Attr("trigger_id").eq(trigger_id))
    }
    if users["webhooks"] and not force:
        raise _refuse(f"trigger {trigger_id!r}", users)
    reason = f"paused when its trigger {trigger_id} ({trigger['name']}) was deleted"
    for webhook in users["webhooks"]:
        modify(
            partial(store.webhooks.owned, webhook.id, workspaces),
            lambda current: store.webhooks.update(
                current.id, _paused(reason, now), expect_version=current.version
            ),
            what=f"webhook {webhook.id!r}",
        )
    store.triggers.delete(trigger_id)
    return {"webhooks": [w.id for w in users["webhooks"]]}


def channel_users(store: Store, channel: ChannelRecord) -> dict[str, list[Any]]:
    """What names the channel: the schedules, triggers, monitors, agents, tasks and conversations
    whose `notify` tells it, the goal loop's notify actions that tell it, autonomous mode, and the
    workspace's default channels."""
    ws, channel_id = channel.workspace_id, channel.id
    in_notify = Attr("notify.channels").contains(channel_id)
    autonomy = store.autonomy.get(ws) or {}
    return {
        "schedules": store.schedules.all_in(ws, filters=in_notify),
        "triggers": store.triggers.all_in(ws, filters=in_notify),
        "monitors": store.monitors.all_in(ws, filters=in_notify),
        "agents": store.agents.all_in(ws, filters=in_notify),
        "actions": store.actions.all_in(ws, filters=Attr("channels").contains(channel_id)),
        "tasks": store.tasks.all_in(ws, filters=in_notify),
        "conversations": store.conversations.all_in(ws, filters=in_notify),
        "autonomy": [{"id": ws, "name": "autonomous mode"}]
        if channel_id in (autonomy.get("channels") or [])
        else [],
        "workspace_settings": (
            [{"id": ws, "name": "default_channels"}]
            if channel_id in (store.workspaces.get(ws).get("default_channels") or [])
            else []
        ),
    }


def delete_channel(
    store: Store, channel_id: str, workspaces: frozenset[str], now: datetime, *, force: bool
) -> dict[str, list[str]]:
    """Delete a notification channel; 409 naming what still names it, unless `force`, which first
    removes it from each of them, recording why on each (`channel_removed_reason`). A notify
    action left with no channel is paused, as it could tell no one. Returns the ids of what was
    changed."""
    channel = store.channels.owned(channel_id, workspaces)
    users = channel_users(store, channel)
    if any(users.values()) and not force:
        raise _refuse(
            f"channel {channel_id!r}",
            users,
            "take it out of them first, or delete with ?force=true to remove it from each of them",
        )
    unnamed = _Unnamed(channel_id, f"channel {channel_id} ({channel.name}) was deleted at {iso(now)}", now)
    for kind in ("schedules", "monitors", "agents", "conversations", "tasks"):
        entities = getattr(store, kind)
        for user in users[kind]:
            modify(
                partial(entities.owned, field_of(user, "id"), workspaces),
                partial(unnamed.update, entities),
                what=f"{kind[:-1]} {field_of(user, 'id')!r}",
            )
    for trigger in users["triggers"]:
        modify(
            partial(get_trigger, store, trigger["id"], workspaces),
            lambda current: store.triggers.change(current, unnamed.notify_changes(current)),
            what=f"trigger {trigger['id']!r}",
        )
    for action in users["actions"]:
        modify(
            partial(store.actions.owned, action["id"], workspaces),
            lambda current: store.actions.change(current, unnamed.action_changes(current)),
            what=f"action {action['id']!r}",
        )
    ws = channel.workspace_id
    if users["autonomy"]:
        modify(
            lambda: store.autonomy.get(ws) or {},
            partial(unnamed.update, store.autonomy),
            what="autonomous mode",
        )
    if users["workspace_settings"]:
        defaults = unnamed.without(store.workspaces.get(ws).get("default_channels"))
        store.workspaces.set(ws, {"default_channels": defaults, "channel_removed_reason": unnamed.reason})
    store.channels.delete(channel_id)
    return {kind: [field_of(i, "id") for i in items] for kind, items in users.items()}


class _Unnamed:
    """The changes that take a deleted channel out of what names it, each saying why."""

    def __init__(self, channel_id: str, what: str, now: datetime) -> None:
        self.channel_id = channel_id
        self.reason = f"{what}; it was removed from here"
        self.now = now

    def without(self, ids: Any) -> list[str]:
        return [c for c in ids or [] if c != self.channel_id]

    def notify_changes(self, current: dict[str, Any]) -> dict[str, Any]:
        """Out of `notify` (and out of the channel lists a task, a conversation or autonomous
        mode shows)."""
        changes: dict[str, Any] = {"channel_removed_reason": self.reason, "updated_at": iso(self.now)}
        if current.get("notify"):
            changes["notify"] = {
                **current["notify"],
                "channels": self.without(current["notify"].get("channels")),
            }
        if "channels" in current:  # autonomous mode
            changes["channels"] = self.without(current["channels"])
        shown = current.get("notification_config")
        if isinstance(shown, dict) and "channel_ids" in shown:  # a task's or a conversation's
            changes["notification_config"] = {**shown, "channel_ids": self.without(shown["channel_ids"])}
        return changes

    def update(self, entities: Any, current: Any) -> Any:
        """Out of what `current` (a record or a stored item) names, saved."""
        return entities.update(
            field_of(current, "id"),
            self.notify_changes(fields_of(current)),
            expect_version=int(field_of(current, "version") or 0),
        )

    def action_changes(self, current: dict[str, Any]) -> dict[str, Any]:
        """Out of a notify action's `channels`; one left with none is paused."""
        left = self.without(current.get("channels"))
        changes: dict[str, Any] = {
            "channels": left,
            "channel_removed_reason": self.reason,
            "updated_at": iso(self.now),
        }
        if not left and current.get("is_active", True):
            changes |= {
                "is_active": False,
                "paused_reason": f"paused: it has no channel left ({self.reason})",
            }
        return changes


def _paused(reason: str, now: datetime) -> dict[str, Any]:
    return {"is_active": False, "paused_reason": reason, "updated_at": iso(now)}
