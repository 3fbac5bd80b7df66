"""Dispatcher: an EventBridge scheduled event -> one tick at the event's `time`.

With fan-out on (`DISPATCH_FANOUT=lambda`) the scheduled event starts one invocation of this
function per shard of the due index (`{"time", "shard"}`), each dispatching its own shard.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from proactive import aws, dispatcher, wiring
from proactive.clock import iso, parse_iso, utcnow
from proactive.context import Context
from proactive.observability import instrumented
from proactive.settings import get_settings

settings = get_settings()
ctx = Context.create(wiring.bus())


@instrumented(correlation_id_path="id")
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The event's time is the tick's clock, so a late or replayed invocation (and a test)
    # dispatches exactly the window that tick was for.
    now = parse_iso(event["time"]) if event.get("time") else utcnow()
    shard = event.get("shard")
    if shard is None and settings.dispatch_fanout == "lambda" and settings.due_shards > 1:
        count = dispatcher.fan_out(aws.client("lambda"), context.function_name, iso(now), settings.due_shards)
        return {"now": now.isoformat(), "fanned_out": count}
    shards = None if shard is None else [int(shard)]
    return dispatcher.tick(ctx, now, wall_now=max(now, utcnow()), shards=shards).as_dict()
