"""Runs: one record for every execution, whatever started it.

`records` makes, queues, finishes, cancels and replays runs; `attempts` is the worker's side (each
attempt, retries with back-off, waits for callbacks); `callbacks` takes an agent's callback.
"""

from proactive.runs.attempts import ATTEMPT_DEADLINE, RunRetry, execute
from proactive.runs.callbacks import receive as receive_callback
from proactive.runs.records import (
    abandon,
    cancel,
    delegate,
    enqueue_new,
    finish,
    get_run,
    new_run,
    replay,
    requeue,
    with_idempotency,
)

__all__ = [
    "ATTEMPT_DEADLINE",
    "RunRetry",
    "abandon",
    "cancel",
    "delegate",
    "enqueue_new",
    "execute",
    "finish",
    "get_run",
    "new_run",
    "receive_callback",
    "replay",
    "requeue",
    "with_idempotency",
]
