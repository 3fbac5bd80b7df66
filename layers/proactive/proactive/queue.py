"""The work queue (SQS). A message names one piece of work by its kind and id (`{"run_id": ...}`,
`{"check_id": ...}`); the item in the table holds everything else. What each kind means to the
worker is registered in `proactive.wiring`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from proactive import aws
from proactive.settings import get_settings

# SQS caps DelaySeconds at 15 minutes.
MAX_DELAY_SECONDS = 900

# Kept equal to template.yaml (a test compares them): the worker times out at 300 s and SQS
# hides a received message for six times that; after five receives a message goes to the DLQ.
WORKER_TIMEOUT_SECONDS = 300
VISIBILITY_TIMEOUT_SECONDS = 6 * WORKER_TIMEOUT_SECONDS
MAX_RECEIVE_COUNT = 5
# Messages the worker receives at once (the event source mapping's batch size).
BATCH_SIZE = 10
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


def retry_backoff_seconds(receive_count: int) -> int:
    """How long a failed message waits before its next attempt: 10 s, 40 s, 160 s, ..."""
    return int(min(VISIBILITY_TIMEOUT_SECONDS, 10 * 4 ** max(0, receive_count - 1)))


# A message for work due at a given time becomes visible between this many seconds and one more
# before that time: long enough for the worker to receive it, read the work and be waiting when
# the time comes (the event source mapping hands a message over within tens of milliseconds of
# its becoming visible), and short, because the worker is billed while it waits: SQS delays are
# whole seconds, so the wait is this lead plus half a second on average.
LEAD_SECONDS = 0.25


def delay_until(when: datetime, now: datetime) -> int:
    """SQS DelaySeconds for a message due at `when`: whole seconds, ending `LEAD_SECONDS` to
    `LEAD_SECONDS + 1` before it (the worker waits out the rest itself), never negative."""
    return int(max(0.0, (when - now).total_seconds() - LEAD_SECONDS))


@dataclass(frozen=True)
class Message:
    """Work for the worker: the `kind` of item (run, delivery, check, ...), its id, and what more
    tells this piece of work from another of the same item (e.g. which attempt of a run)."""

    kind: str
    id: str
    delay_seconds: int = 0
    extra: tuple[tuple[str, str | int], ...] = ()

    def body(self) -> str:
        return json.dumps({f"{self.kind}_id": self.id, **dict(self.extra)})


def run_message(run_id: str, delay_seconds: int = 0, **extra: str | int) -> Message:
    return Message("run", run_id, delay_seconds, tuple(sorted(extra.items())))


class QueueError(Exception):
    """SQS did not accept a message even after a retry."""


class RunQueue:
    def __init__(self, queue_url: str | None = None, *, sqs: Any = None) -> None:
        self.url = queue_url or get_settings().run_queue_url
        self._client = sqs

    @property
    def _sqs(self) -> Any:
        """The SQS client, made on first use."""
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

    def send(self, messages: Sequence[Message]) -> None:
        """Send every message (in batches of ten). Raises QueueError if any is refused twice."""
        for start in range(0, len(messages), 10):
            batch = {str(i): m for i, m in enumerate(messages[start : start + 10])}
            for _ in range(2):
                resp = self._sqs.send_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {
                            "Id": key,
                            "MessageBody": m.body(),
                            "DelaySeconds": max(0, min(MAX_DELAY_SECONDS, m.delay_seconds)),
                        }
                        for key, m in batch.items()
                    ],
                )
                failed = {f["Id"] for f in resp.get("Failed", [])}
                batch = {k: m for k, m in batch.items() if k in failed}
                if not batch:
                    break
            if batch:
                refused = sorted(m.body() for m in batch.values())
                raise QueueError(f"SQS refused {len(batch)} message(s): {refused}")

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again after `seconds` (instead of the full visibility
        timeout), for a retry with back-off."""
        self._sqs.change_message_visibility(
            QueueUrl=self.url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )
