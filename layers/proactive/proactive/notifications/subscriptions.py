"""What tells a channel, and of which events: the other side of `references.channel_users`.

Each item that names a channel (a schedule's, trigger's, monitor's, agent's, task's or
conversation's `notify`, a goal-loop notify action, autonomous mode, the workspace's default
channels) is one subscription, with the events (as the notification log names them) it sends the
channel. An agent may also tell any channel of its workspace with its `notify` tool
(`agent.notify`): that is the agent's choice at run time, not a subscription.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proactive import references
from proactive.models.notifications import ChannelRecord, ChannelSubscription
from proactive.store import Store
from proactive.store.entities import field_of

# The run events a `notify` config's `on` names.
RUN_EVENTS = {"start": "run.started", "success": "run.succeeded", "failure": "run.failed"}
# What the workspace's default channels are told of.
DEFAULT_EVENTS = (
    "run.failed",
    "monitor.failing",
    "monitor.recovered",
    "occurrence.missed",
    "goal.analysis",
    "goal.approval_requested",
)
AUTONOMOUS_EVENTS = ("autonomous.started", "autonomous.succeeded", "autonomous.failed")
# The events a kind of item sends beside those of the runs it starts, by kind.
_ALSO = {"monitors": ("monitor.failing", "monitor.recovered")}


def _run_events(notify: Any) -> list[str]:
    config = notify.model_dump() if hasattr(notify, "model_dump") else notify
    on = (config or {}).get("on") if isinstance(config, Mapping) else None
    return [RUN_EVENTS[moment] for moment in (on or ["failure"]) if moment in RUN_EVENTS]


def events_of(kind: str, item: Any) -> list[str]:
    """The events an item of `kind` (as `references.channel_users` names kinds) tells its channels."""
    if kind == "workspace_settings":
        return list(DEFAULT_EVENTS)
    if kind == "autonomy":
        return list(AUTONOMOUS_EVENTS)
    if kind == "actions":
        return ["goal.action"]
    events = _run_events(field_of(item, "notify"))
    if kind == "schedules" and "run.failed" in events:
        events.append("occurrence.missed")
    return events + list(_ALSO.get(kind, ()))


def subscriptions(store: Store, channel: ChannelRecord) -> list[ChannelSubscription]:
    """Everything that tells the channel, with what it tells it, in the order of
    `references.channel_users` (schedules, triggers, monitors, agents, actions, tasks,
    conversations, autonomous mode, the workspace's defaults)."""
    found = []
    for kind, items in references.channel_users(store, channel).items():
        for item in items:
            found.append(
                ChannelSubscription.model_validate(
                    {
                        "kind": kind,
                        "id": str(field_of(item, "id")),
                        "name": str(field_of(item, "name") or ""),
                        "events": events_of(kind, item),
                    }
                )
            )
    return found
