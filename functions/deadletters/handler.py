"""Dead letters: a queue message that failed every receive lands here. The work it named is
settled (a run is failed, saying why, which tells the workspace's default channels) so nothing is
left waiting forever, and the message is logged whole."""

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from proactive import wiring
from proactive.context import Context
from proactive.observability import instrumented, logger
from proactive.queue import MAX_RECEIVE_COUNT
from proactive.wiring import work_in

ctx = Context.create(wiring.bus())
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    try:
        work = work_in(json.loads(record.body))
    except ValueError:
        work = None
    logger.error("dead letter", extra={"message_id": record.message_id, "body": record.body[:2000]})
    if work is None:
        return
    kind, item_id, _ = work
    if kind.abandon is not None:
        reason = (
            f"its queue message failed {MAX_RECEIVE_COUNT} times and was set aside "
            f"(message {record.message_id})"
        )
        kind.abandon(ctx, item_id, reason)


@instrumented()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
