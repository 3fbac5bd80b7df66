"""Worker: SQS batches of run messages -> execute each run; failures reported per message."""

import json
from typing import Any

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from proactive import monitors, runs, triggers, webhooks
from proactive.clock import utcnow
from proactive.observability import instrumented, logger
from proactive.queue import RunQueue, retry_backoff_seconds
from proactive.settings import get_settings
from proactive.store import Store

store = Store()
queue = RunQueue()
sqs = boto3.client("sqs")
# Report every failure per message, even when the whole batch failed, so the back-off applies.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# Keyed on the run, the webhook delivery or the monitor check: each id is its occurrence.
idempotency = IdempotencyConfig(
    event_key_jmespath="run_id || delivery_id || check_id", expires_after_seconds=24 * 3600
)


@idempotent_function(  # type: ignore[untyped-decorator]
    data_keyword_argument="message", config=idempotency, persistence_store=store.idempotency_layer("worker")
)
def run_once(message: dict[str, Any]) -> dict[str, Any]:
    if "check_id" in message:
        return monitors.run_check(store, queue, message["check_id"], utcnow())
    if "delivery_id" in message:
        return webhooks.process_delivery(
            store, queue, message["delivery_id"], now_fn=utcnow, on_finish=_chain
        )
    return runs.execute(store, message["run_id"], on_finish=_chain)


def _chain(run: dict[str, Any]) -> None:
    """A finished run fires the event triggers listening for it."""
    triggers.run_finished(store, queue, run, utcnow())


def record_handler(record: SQSRecord) -> dict[str, Any]:
    logger.set_correlation_id(record.message_id)
    message = json.loads(record.body)
    kinds = ("run_id", "delivery_id", "check_id")
    key = next((k for k in kinds if isinstance(message, dict) and message.get(k)), None)
    if key is None or not isinstance(message[key], str):
        # Left to fail: after the queue's receive limit it lands in the DLQ for inspection.
        raise ValueError(f"message {record.message_id} names no run, delivery or check")
    logger.append_keys(**{key: message[key]})
    result: dict[str, Any] = run_once(message={key: message[key]})
    return result


@instrumented()
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    result = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    _back_off([r for r in event["Records"] if r["messageId"] in failed])
    return dict(result)


def _back_off(records: list[dict[str, Any]]) -> None:
    """Retry failed runs after 10 s, 40 s, 160 s... rather than the full visibility timeout."""
    for record in records:
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        try:
            sqs.change_message_visibility(
                QueueUrl=get_settings().run_queue_url,
                ReceiptHandle=record["receiptHandle"],
                VisibilityTimeout=retry_backoff_seconds(receives),
            )
        except (ClientError, BotoCoreError):
            logger.warning("could not shorten retry delay", extra={"message_id": record["messageId"]})
