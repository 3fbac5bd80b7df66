"""In the worker: an accepted webhook delivery is evaluated against its trigger and, if it
passes, runs the agent. Idempotent: the run's id is derived from the delivery's. The run refers
to the delivery's stored payload rather than holding a copy of it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from proactive import runs, triggers
from proactive.events import Bus
from proactive.ids import occurrence_run_id
from proactive.models.runs import SourceType
from proactive.observability import logger
from proactive.queue import Message, RunQueue
from proactive.store import Store

if TYPE_CHECKING:
    from proactive.models.webhooks import DeliveryRecord


def process(
    store: Store, queue: RunQueue, bus: Bus, delivery_id: str, now_fn: Callable[[], datetime]
) -> dict[str, Any]:
    delivery = store.deliveries.get(delivery_id)
    if delivery is None:
        return {"delivery_id": delivery_id, "status": "gone"}
    if delivery.run_id:
        return runs.execute(store, queue, bus, delivery.run_id, now_fn=now_fn)
    if delivery.status != "accepted":
        return {"delivery_id": delivery_id, "status": delivery.status}
    status, run_id = start(store, delivery, now_fn())
    if run_id is None:
        return {"delivery_id": delivery_id, "status": status}
    return runs.execute(store, queue, bus, run_id, now_fn=now_fn)


def start(store: Store, delivery: DeliveryRecord, now: datetime) -> tuple[str, str | None]:
    """Evaluate an accepted delivery against its trigger and, if it passes, make its run (queued,
    not yet executed: the delivery's queue message executes it). The delivery's status after that
    (accepted, filtered or rejected, with the reason in its log) and the run's id, if any. Made
    twice (the worker and a test delivery at once), it is the same run."""
    trigger = store.triggers.get(delivery.trigger_id) if delivery.trigger_id else None
    if trigger is None:
        outcome = triggers.Outcome("rejected", f"trigger {delivery.trigger_id} no longer exists")
    else:
        outcome = triggers.evaluate(trigger, delivery.payload, delivery.event)
    if outcome.status != "accepted" or outcome.task is None or trigger is None:
        store.deliveries.update(
            delivery.id, {"status": outcome.status, "reason": outcome.reason}, only_if_status="accepted"
        )
        logger.info(
            "delivery not run",
            extra={"delivery_id": delivery.id, "status": outcome.status, "reason": outcome.reason},
        )
        return outcome.status, None
    run = runs.new_run(
        run_id=occurrence_run_id(f"delivery#{delivery.id}"),
        workspace_id=trigger["workspace_id"],
        agent_id=trigger["agent_id"],
        task=outcome.task,
        source_type=SourceType.WEBHOOK,
        source_id=delivery.webhook_id,
        now=now,
        trigger_id=trigger["id"],
        delivery_id=delivery.id,
        # The payload as stored with the delivery (a delivery stored with its payload inside
        # has none to refer to: its run stores it).
        **({"payload_ref": delivery.payload_ref} if delivery.payload_ref else {"payload": delivery.payload}),
        source_name=trigger.get("name"),
        source_notify=trigger.get("notify"),
    )
    if store.runs.create(run):
        store.triggers.record_fire(trigger["id"], now)
    store.deliveries.update(delivery.id, {"run_id": run.id}, only_if_status="accepted")
    return "accepted", run.id


def requeue(delivery: Mapping[str, Any], now: datetime) -> Message | None:
    """A delivery accepted but not yet run when its queue was lost (the local stack's restart)
    is queued again."""
    if delivery.get("status") == "accepted" and not delivery.get("run_id"):
        return Message("delivery", str(delivery["id"]))
    return None
