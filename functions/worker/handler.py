"""Worker: SQS batches of work messages -> perform each; failures reported per message.

What a message can ask for (a run, a webhook delivery, a monitor check, ...) is registered in
`proactive.wiring`; this adapter only parses, looks the kind up and keeps each id idempotent. The
records of a batch are performed side by side, each in its own thread: a run due in a second
waits for its own time without holding up the others, and one slow agent does not delay the
rest of the batch.
"""

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    EventType,
    async_process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from proactive import runs, wiring
from proactive.context import Context
from proactive.observability import instrumented, logger
from proactive.queue import BATCH_SIZE, retry_backoff_seconds
from proactive.wiring import WORK_KINDS, work_in
from proactive.wiring import agents as wiring_agents
from proactive.wiring import mining as wiring_mining

wiring_agents.install()
wiring_mining.install()

ctx = Context.create(wiring.bus())
# Report every failure per message, even when the whole batch failed, so the back-off applies.
processor = AsyncBatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# A thread for every record of a batch: none waits for another's turn.
threads = ThreadPoolExecutor(max_workers=BATCH_SIZE, thread_name_prefix="record")
# Keyed on the work's own id (`<kind>#<id>`): each id is one occurrence. Work that guards itself
# (`WorkKind.guards_itself`) has no key and keeps no record.
idempotency = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=24 * 3600)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message",
    config=idempotency,
    persistence_store=ctx.store.idempotency_layer("worker"),
)
def perform_once(message: dict[str, Any]) -> dict[str, Any]:
    kind = WORK_KINDS[message["kind"]]
    return kind.perform(ctx, message["id"], message["extra"])


def perform(record: SQSRecord, deadline: float) -> dict[str, Any]:
    """One record, in its own thread (log keys are per thread), to be done by `deadline`."""
    try:
        work = work_in(json.loads(record.body))
    except ValueError:
        work = None
    if work is None:
        # Left to fail: after the queue's receive limit it lands in the DLQ for inspection.
        raise ValueError(
            f"message {record.message_id} names no work this worker knows ({', '.join(WORK_KINDS)})"
        )
    kind, item_id, extra = work
    logger.thread_safe_append_keys(message_id=record.message_id, **{kind.field: item_id})
    runs.ATTEMPT_DEADLINE.set(deadline)
    key = kind.idempotency_key(item_id, extra)
    try:
        if key is None:
            # Work that guards itself against a second delivery: no record to keep.
            result: dict[str, Any] = kind.perform(ctx, item_id, extra)
        else:
            result = perform_once(message={"key": key, "kind": kind.kind, "id": item_id, "extra": extra})
    finally:
        logger.thread_safe_clear_keys()
    return result


async def record_handler(record: SQSRecord) -> dict[str, Any]:
    return await asyncio.get_running_loop().run_in_executor(threads, perform, record, _deadline)


# When this invocation's records must be done: the function's time left, less a margin to record
# the outcome (an agent still going then is told it ran out of time, and is retried).
_deadline = 0.0
OUTCOME_MARGIN_SECONDS = 5.0


@instrumented()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    global _deadline
    _deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - OUTCOME_MARGIN_SECONDS
    idempotency.register_lambda_context(context)
    result = async_process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    _back_off([r for r in event["Records"] if r["messageId"] in failed])
    return dict(result)


def _back_off(records: list[dict[str, Any]]) -> None:
    """Retry failed work after 10 s, 40 s, 160 s... rather than the full visibility timeout."""
    for record in records:
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            ctx.queue.retry_in(record["receiptHandle"], retry_backoff_seconds(receives))
        except (ClientError, BotoCoreError):
            logger.warning("could not shorten retry delay", extra={"message_id": record["messageId"]})
