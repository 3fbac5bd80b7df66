"""Triggers: an active event trigger is also listed under its workspace's event listeners."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from proactive.clock import iso
from proactive.models.common import Record
from proactive.store import keys
from proactive.store.entities import Entities, fields_of
from proactive.store.table import ConditionFailed
from proactive.store.values import body


def _listener(trigger: Mapping[str, Any]) -> dict[str, str]:
    """An active event trigger listed under what it listens for: a product event ("run.failed"),
    or a type of recorded event ("recorded:<type>")."""
    if trigger["trigger_type"] == "event" and trigger.get("is_active"):
        config = trigger.get("config", {})
        recorded = config.get("recorded_event")
        event = f"recorded:{recorded}" if recorded else str(config.get("event", ""))
        return keys.event_listener(trigger["workspace_id"], event, trigger["id"])
    return {}


class Triggers(Entities[dict[str, Any]]):
    kind = "trigger"

    def put(self, entity: Mapping[str, Any] | Record, *, extra: Mapping[str, Any] | None = None) -> None:
        super().put(entity, extra={**_listener(fields_of(entity)), **(extra or {})})

    def change(self, trigger: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply `changes` to the trigger as read, keeping its event listing in step; ConditionFailed
        if it was written since it was read."""
        listing = _listener({**trigger, **changes})
        return self.update(
            trigger["id"],
            {**changes, **listing},
            remove=() if listing else (keys.GSI2PK, keys.GSI2SK),
            expect_version=int(trigger.get("version") or 0),
        )

    def record_fire(self, trigger_id: str, now: datetime) -> None:
        with contextlib.suppress(ConditionFailed):
            self.update(trigger_id, {"last_fired_at": iso(now)}, add={"fire_count": 1})

    def listening(self, workspace_id: str, prefix: str) -> list[dict[str, Any]]:
        """Active event triggers in a workspace listening for events that start with `prefix`
        (e.g. "run."): one query for every event a finished run emits."""
        condition = Key(keys.GSI2PK).eq(keys.event_listeners_partition(workspace_id)) & Key(
            keys.GSI2SK
        ).begins_with(prefix)
        return [body(i) for i in self.table.query_all(index=keys.GSI2, key=condition)]

    def any_listening(self, workspace_id: str, prefix: str) -> bool:
        """Whether any active event trigger of the workspace listens for events that start with
        `prefix`: one read of the index, not of the triggers."""
        condition = Key(keys.GSI2PK).eq(keys.event_listeners_partition(workspace_id)) & Key(
            keys.GSI2SK
        ).begins_with(prefix)
        found, _ = self.table.query(index=keys.GSI2, key=condition, limit=1, whole=False)
        return bool(found)
