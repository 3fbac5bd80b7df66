"""Who is told about a run: the `notify` of what started it and of its agent, and the workspace's
default channels for a final failure. Resolved once, when the run first starts, and kept on it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from proactive.store import Store
from proactive.store.entities import field_of

# Which source types name a resource (and its notify config) by their source_id.
_SOURCES = {"schedule": "schedules", "trigger": "triggers", "monitor": "monitors"}


def check(store: Store, notify: Any, workspace_id: str) -> dict[str, Any] | None:
    """A resource's `notify` as stored, once each channel it names is found in the workspace
    (InvalidInput naming `notify.channels` otherwise)."""
    if notify is None:
        return None
    config = notify.model_dump() if hasattr(notify, "model_dump") else dict(notify)
    for channel_id in config.get("channels", []):
        store.channels.referenced(channel_id, workspace_id, field="notify.channels")
    return config


def plan(store: Store, run: Mapping[str, Any], agent: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{channel_id, on: [...]}, ...] for a run: its source's and its agent's notify configs, and
    the workspace's default channels for failures."""
    targets: dict[str, set[str]] = {}

    def add(config: Mapping[str, Any] | None) -> None:
        for channel_id in (config or {}).get("channels", []):
            targets.setdefault(channel_id, set()).update((config or {}).get("on") or ["failure"])

    if "source_notify" in run:  # carried from the source when the run was made
        add(run["source_notify"])
    elif (accessor := _SOURCES.get(run["source_type"])) and run.get("source_id"):
        add(field_of(getattr(store, accessor).get(run["source_id"]), "notify"))
    add(agent.get("notify"))
    for channel_id in store.workspaces.get(run["workspace_id"]).get("default_channels") or []:
        targets.setdefault(channel_id, set()).add("failure")
    return [{"channel_id": c, "on": sorted(on)} for c, on in sorted(targets.items())]


def wants(notify_plan: list[dict[str, Any]] | None, moment: str) -> list[str]:
    """The channels a run's plan tells at this moment (start, success or failure)."""
    return [t["channel_id"] for t in notify_plan or [] if moment in t.get("on", [])]
