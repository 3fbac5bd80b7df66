"""Adapters that drive the Lambda handlers locally with the event shapes AWS sends them.

Used by the local stack (`proactive dev`) and the tests; nothing here ships in the layer.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import queue
import sys
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from proactive.clock import iso, utcnow
from proactive.dev.queue_activity import QueueActivity
from proactive.queue import (
    BATCH_SIZE,
    DLQ_RETENTION_SECONDS,
    MAX_RECEIVE_COUNT,
    VISIBILITY_TIMEOUT_SECONDS,
    WORKER_TIMEOUT_SECONDS,
)
from proactive.store.keys import TTL_ATTRIBUTE, table_definition

REPO_ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS = REPO_ROOT / "functions"
REGION = "us-east-1"
ACCOUNT = "123456789012"


class LocalContext:
    """What a Lambda handler reads from its context object."""

    def __init__(self, function_name: str, timeout_seconds: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = utcnow().timestamp() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - utcnow().timestamp()) * 1000))


def load_handler(name: str, *, instance: str = "") -> ModuleType:
    """Import functions/<name>/handler.py as its own module (each is `handler` in Lambda)."""
    module_name = f"_proactive_fn_{name}{instance}"
    spec = importlib.util.spec_from_file_location(module_name, FUNCTIONS / name / "handler.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no handler for function {name!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def scheduled_event(time: datetime) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": iso(time).replace(".000000Z", "Z"),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/proactive-dispatcher"],
        "detail": {},
    }


def http_api_event(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    path_parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as `sam local start-api` builds one."""
    now = utcnow()
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {k.lower(): v for k, v in headers.items()},
        "pathParameters": dict(path_parameters or {}),
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": "127.0.0.1",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event source mapping's batch, from `receive_message` results."""
    records = []
    for m in messages:
        attributes = m.get("Attributes", {})
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": attributes.get("SentTimestamp", "0"),
                    "SenderId": attributes.get("SenderId", ACCOUNT),
                    "ApproximateFirstReceiveTimestamp": attributes.get(
                        "ApproximateFirstReceiveTimestamp", "0"
                    ),
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
        )
    return {"Records": records}


def create_resources(
    dynamodb_client: Any, sqs_client: Any, *, table_name: str, queue_name: str
) -> dict[str, str]:
    """The table and queues template.yaml declares, for moto. Returns the queue URL and ARNs."""
    dynamodb_client.create_table(**table_definition(table_name))
    dynamodb_client.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
    dlq_url = sqs_client.create_queue(
        QueueName=f"{queue_name}-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)}
    )["QueueUrl"]
    dlq_arn = sqs_client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs_client.create_queue(
        QueueName=queue_name,
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    arn = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return {"queue_url": url, "queue_arn": arn, "dlq_url": dlq_url, "dlq_arn": dlq_arn}


class EventSourceMapping:
    """Feeds SQS messages to worker handlers as Lambda's SQS event source mapping does: one poller
    receives batches and hands each to a free function instance, making a new instance (a cold
    start) when none is free, up to `concurrency`; a batch's failures are reported back and its
    successes deleted.

    It polls without a wait (moto's long poll would hold moto's one request lock, `dev.serial`),
    again at once when `activity` says a message was sent, else after `idle_seconds`."""

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        queue_arn: str,
        make_instance: Callable[[int], ModuleType],
        *,
        concurrency: int,
        function_name: str = "WorkerFunction",
        idle_seconds: float = 0.05,
        activity: QueueActivity | None = None,
    ) -> None:
        self._sqs = sqs_client
        self._url = queue_url
        self._arn = queue_arn
        self._make_instance = make_instance
        self._instances: list[ModuleType] = []
        self._free: queue.SimpleQueue[ModuleType] = queue.SimpleQueue()
        self._function_name = function_name
        self._idle_seconds = idle_seconds
        self._activity = activity
        self._busy = threading.Semaphore(concurrency)
        self._concurrency = concurrency

    def poll(self, stop: threading.Event) -> None:
        """Receive and dispatch until `stop` is set, then wait for the batches in flight."""
        while not stop.is_set():
            self._busy.acquire()
            try:
                messages = self._receive()
            except Exception:
                self._busy.release()
                raise
            if not messages:
                self._busy.release()
                if self._activity is None:
                    stop.wait(self._idle_seconds)
                else:
                    self._activity.wait(self._idle_seconds)
                continue
            threading.Thread(target=self._invoke, args=(messages,), name="worker", daemon=True).start()
        for _ in range(self._concurrency):
            self._busy.acquire()

    def _receive(self) -> list[dict[str, Any]]:
        resp = self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=BATCH_SIZE, WaitTimeSeconds=0, AttributeNames=["All"]
        )
        return list(resp.get("Messages", []))

    def _instance(self) -> ModuleType:
        try:
            return self._free.get_nowait()
        except queue.Empty:
            instance = self._make_instance(len(self._instances))
            self._instances.append(instance)
            return instance

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        instance = self._instance()
        try:
            context = LocalContext(self._function_name, WORKER_TIMEOUT_SECONDS)
            result = instance.handler(sqs_event(messages, self._arn), context)
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            for start in range(0, len(done), 10):
                self._sqs.delete_message_batch(
                    QueueUrl=self._url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done[start : start + 10])
                    ],
                )
        except Exception:
            # As in Lambda, a failed invocation leaves its messages to reappear after the timeout.
            logging.getLogger("proactive.dev").exception("worker invocation failed")
        finally:
            self._free.put(instance)
            self._busy.release()
