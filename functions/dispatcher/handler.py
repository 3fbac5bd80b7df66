"""Dispatcher: an EventBridge scheduled event -> one tick at the event's `time`."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from proactive import dispatcher
from proactive.clock import parse_iso, utcnow
from proactive.observability import instrumented
from proactive.queue import RunQueue
from proactive.store import Store

store = Store()
queue = RunQueue()


@instrumented(correlation_id_path="id")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The event's time is the tick's clock, so a late or replayed invocation (and a test)
    # dispatches exactly the window that tick was for.
    now = parse_iso(event["time"]) if event.get("time") else utcnow()
    return dispatcher.tick(store, queue, now, wall_now=max(now, utcnow())).as_dict()
