"""Goal loop actions: entities listed in their workspace, each with its record of outcomes.

A name is held by a guard item (`keys.action_name`) written in the same transaction as the
action, so two actions of a workspace never share a name (compared regardless of case and
spacing). A rename moves the guard in the same transaction as the change; a delete removes the
action, then its guard. A guard left behind by an interrupted rename or delete names an action
that no longer holds the name, and the next claim of the name takes it over.

The record (`attempts`, `successes`, `failures`, `impact_sum`, `impact_count`, the Beta
posterior's `alpha` and `beta`, `last_outcome_at`) lives on the action's item and changes only
through `record_attempt` (an execution, counted when it starts) and `record_outcome` (its
outcome, once learnt): every count is a DynamoDB ADD, so concurrent outcomes all count, and the
item's version is left alone, so an edit made meanwhile is not refused because of an outcome.
Deleting an action deletes its record: a new action of the same name starts afresh.

An http action's signing secret is sealed in the table (`Entities.sealed_fields`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from boto3.dynamodb.conditions import Attr, ConditionBase

from proactive.clock import iso
from proactive.errors import Conflict, NotFound
from proactive.models.common import Record
from proactive.store import keys
from proactive.store.entities import SIGNING_SECRETS, Entities, fields_of, seal_fields, version_is
from proactive.store.table import ConditionFailed, Put, Update, WriteConflict
from proactive.store.values import json_text

# A new action's record: no outcomes yet, so the uniform Beta(1, 1) posterior.
FRESH_RECORD: dict[str, int] = {
    "attempts": 0,
    "successes": 0,
    "failures": 0,
    "impact_sum": 0,
    "impact_count": 0,
    "alpha": 1,
    "beta": 1,
}
RECORD_FIELDS = (*FRESH_RECORD, "last_outcome_at")
_KIND_ATTRIBUTE = "action_kind"
# A transaction that collides with another write to the same items is tried this often.
_TRANSACTION_ATTEMPTS = 3


def name_key(name: str) -> str:
    """What two action names must differ in to be different: case and spacing do not count."""
    return " ".join(name.split()).casefold()


class Actions(Entities[dict[str, Any]]):
    kind = "action"
    json_fields = ("parameters",)
    sealed_fields = SIGNING_SECRETS

    # Every item's `kind` attribute names its entity kind, so an action's own kind is stored apart.
    def item(
        self, entity: Mapping[str, Any] | Record, extra: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        stored = {
            (_KIND_ATTRIBUTE if name == "kind" else name): value for name, value in fields_of(entity).items()
        }
        return super().item(stored, extra)

    def shown(self, item: Mapping[str, Any]) -> dict[str, Any]:
        shown = super().shown(item)
        if _KIND_ATTRIBUTE in shown:
            shown["kind"] = shown.pop(_KIND_ATTRIBUTE)
        return shown

    def create(self, action: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new action with a fresh record, claiming its name in the same transaction.
        Conflict naming `name` when another action of the workspace holds the name."""
        item = self.item({**action, **FRESH_RECORD})
        self._claim_name(action["workspace_id"], action["name"], action["id"], [Put(item)])
        return self.shown(item)

    def change(self, action: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply `changes` to the action as read; ConditionFailed if it was written since. A new
        name is claimed in the same transaction (Conflict naming `name` if another action holds it)."""
        expected = int(action.get("version") or 0)
        name = changes.get("name", action["name"])
        if name_key(name) == name_key(action["name"]):
            return self.update(action["id"], changes, expect_version=expected)
        values = seal_fields(self.kind, action["id"], changes, self.sealed_fields)
        if "parameters" in values:
            values["parameters_json"] = json_text(values.pop("parameters"), field="parameters")
        update = Update(
            key=self.key(action["id"]),
            set_values=values,
            add={keys.VERSION_ATTRIBUTE: 1},
            condition=version_is(expected),
        )
        self._claim_name(action["workspace_id"], name, action["id"], [update])
        self._release_name(action["workspace_id"], action["name"], action["id"])
        changed = self.get(action["id"])
        if changed is None:
            raise NotFound(f"action {action['id']!r} not found")
        return changed

    def remove(self, action: Mapping[str, Any]) -> bool:
        """Delete the action (its record with it), then free its name. False if it was gone."""
        if not self.delete(action["id"]):
            return False
        self._release_name(action["workspace_id"], action["name"], action["id"])
        return True

    def record_attempt(self, action_id: str, once: Update) -> bool:
        """Count one execution of the action in its `attempts` when it starts, in one transaction
        with `once`: a conditional write marking the execution as counted, so however often the
        step that counts it is tried, it counts once. False when it was counted before, or the
        action no longer exists."""
        count = Update(key=self.key(action_id), add={"attempts": 1}, condition=Attr(keys.PK).exists())
        for _ in range(_TRANSACTION_ATTEMPTS):
            try:
                self.table.transact([once, count])
                return True
            except WriteConflict:
                continue
            except ConditionFailed:
                return False
        return False

    def record_outcome(
        self, action_id: str, success: bool, impact: float | None, at: datetime, *, new_attempt: bool = True
    ) -> dict[str, Any] | None:
        """Add one outcome to the action's record: a success or a failure, and `impact` (the
        measured gain, `loop.impact.Impact.gain`) when it was measured; with `new_attempt`, an
        attempt too (one `record_attempt` did not count when it started). Returns the action as
        it is now, or None when it no longer exists (the outcome goes with it)."""
        counts: dict[str, float] = {
            "attempts": int(new_attempt),
            "successes": int(success),
            "failures": int(not success),
            "alpha": int(success),
            "beta": int(not success),
        }
        if impact is not None:
            counts |= {"impact_sum": impact, "impact_count": 1}
        key = self.key(action_id)
        try:
            # The table adds any number; its annotation names the usual case, whole counts.
            item = self.table.update(Update(key=key, add=cast(Mapping[str, int], counts)))
        except ConditionFailed:
            return None
        stamp = iso(at)
        later = Attr("last_outcome_at").not_exists() | Attr("last_outcome_at").lt(stamp)
        # Refused when a later outcome was recorded meanwhile, or the action was just deleted.
        with contextlib.suppress(ConditionFailed):
            item = self.table.update(Update(key=key, set_values={"last_outcome_at": stamp}, condition=later))
        return self.shown(item)

    def _claim_name(
        self, workspace_id: str, name: str, action_id: str, operations: Sequence[Update | Put]
    ) -> None:
        """Apply `operations` and make the action the holder of `name`, all or nothing."""
        guard = {
            **keys.action_name(workspace_id, name_key(name)),
            "action_id": action_id,
            "workspace_id": workspace_id,
            "name": name,
        }
        condition: ConditionBase | None = None  # the name is free
        for _ in range(_TRANSACTION_ATTEMPTS):
            try:
                self.table.transact([*operations, Put(guard, condition=condition)])
                return
            except WriteConflict:
                continue
            except ConditionFailed as exc:
                if any(position < len(operations) for position in exc.failed):
                    raise
                condition = self._takeover(workspace_id, name)
                if condition is None:
                    raise Conflict(
                        f"an action named {name!r} already exists in workspace {workspace_id!r}",
                        field="name",
                    ) from None
        raise Conflict(f"action {action_id!r} is being changed by another request; try again")

    def _takeover(self, workspace_id: str, name: str) -> ConditionBase | None:
        """How to claim a name whose guard no longer stands for an action of that name; None while
        an action does hold it."""
        guard = self.table.get(keys.action_name(workspace_id, name_key(name)))
        if guard is None:  # released since the claim was refused
            return Attr(keys.PK).not_exists()
        holder = self.get(str(guard.get("action_id")))
        if holder is not None and name_key(holder["name"]) == name_key(name):
            return None
        return Attr("action_id").eq(guard.get("action_id"))

    def _release_name(self, workspace_id: str, name: str, action_id: str) -> None:
        self.table.delete(
            keys.action_name(workspace_id, name_key(name)), condition=Attr("action_id").eq(action_id)
        )
