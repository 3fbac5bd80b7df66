"""Schedules: in the due index while active, and a slot that one run at a time may hold."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from proactive.clock import iso
from proactive.models.common import Record
from proactive.models.schedules import ScheduleRecord
from proactive.store import keys
from proactive.store.due import DueIndex
from proactive.store.entities import Entities, ItemT, fields_of
from proactive.store.table import ConditionFailed, Table


class DueEntities(Entities[ItemT]):
    """Entities that can come due: `next_fire_at` mirrored into the due index while active."""

    def __init__(self, table: Table, due: DueIndex) -> None:
        super().__init__(table)
        self.due = due

    def put_due(self, entity: Mapping[str, Any] | Record, *, due_at: datetime | None) -> None:
        self.put(entity, extra=self.due.attributes(fields_of(entity)["id"], due_at))

    def reschedule(
        self,
        item_id: str,
        changes: Mapping[str, Any],
        *,
        due_at: datetime | None,
        expect_next_fire_at: str | None = None,
        expect_version: int | None = None,
    ) -> ItemT:
        """Apply `changes` and move the item to `due_at` in the index (None: out of it).
        `expect_next_fire_at` makes the write conditional on the item not having been advanced
        by another caller meanwhile."""
        condition = None if expect_next_fire_at is None else Attr("next_fire_at").eq(expect_next_fire_at)
        return self.update(
            item_id,
            {**changes, **self.due.attributes(item_id, due_at)},
            remove=() if due_at is not None else (keys.DUE_PK, keys.DUE_AT),
            condition=condition,
            expect_version=expect_version,
        )


class Schedules(DueEntities[ScheduleRecord]):
    """Schedules, each with a slot (`active_run_id`, `active_lease_until`) that one run at a time
    holds when the schedule does not let its runs overlap. A slot is free when nobody holds it,
    when its lease has lapsed, or when the run holding it has finished: a run that ends after
    its lease would lapse before the schedule's next occurrence does not release it (a write
    saved), and a run that finds the slot held by a finished run takes it over
    (`take_slot(..., replacing=...)`)."""

    kind = "schedule"
    record = ScheduleRecord

    def take_slot(
        self,
        schedule_id: str,
        run_id: str,
        *,
        now: datetime,
        lease_until: datetime,
        exclusive: bool,
        replacing: str | None = None,
    ) -> None:
        """Record that a run of this schedule starts. The schedule must be active and, when
        `exclusive`, not held by another run with an unexpired lease (but for `replacing`, a
        holder the caller found finished). ConditionFailed otherwise."""
        condition: ConditionBase = Attr("is_active").eq(True)
        changes: dict[str, Any] = {"last_run": iso(now), "last_run_id": run_id}
        if exclusive:
            free = (
                Attr("active_run_id").not_exists()
                | Attr("active_run_id").eq(run_id)
                | Attr("active_lease_until").lt(iso(now))
            )
            if replacing is not None:
                free = free | Attr("active_run_id").eq(replacing)
            condition = condition & free
            changes.update({"active_run_id": run_id, "active_lease_until": iso(lease_until)})
        self.update(schedule_id, changes, condition=condition)

    def release_slot(self, schedule_id: str, run_id: str, *, unless_lapsing: bool = False) -> None:
        """Free the slot `run_id` holds. With `unless_lapsing`, only when the schedule's next
        occurrence may come before the slot's lease lapses (read eventually consistent: a slot
        left held by a finished run is taken over all the same)."""
        if unless_lapsing:
            schedule = self.get(schedule_id, consistent=False)
            if schedule is None or schedule.active_run_id != run_id:
                return
            following, lease = schedule.next_fire_at, schedule.active_lease_until
            if lease is not None and (following is None or following > lease):
                return
        # If another run holds it, or the schedule is gone, there is nothing to release.
        with contextlib.suppress(ConditionFailed):
            self.update(
                schedule_id,
                remove=("active_run_id", "active_lease_until"),
                condition=Attr("active_run_id").eq(run_id),
            )
