"""When the local stack's queue pollers should look: as soon as a message may be there.

Lambda's event source mapping long-polls SQS, so a message reaches a worker at once. The local
stack cannot long-poll moto (a long poll holds moto's one request lock, `dev.serial`), and
polling every few milliseconds instead keeps a core a tenth busy while nothing happens. Every
message of the stack is sent from its own process (the API, the dispatcher, the workers and the
goal loop all run there), so its boto3 session says when: after a send, at once; after a delayed
send or a changed visibility, when the delay is over. Pollers wait for that, and look anyway
every `most` seconds (a message whose receive timed out reappears unannounced).
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Any

# The SQS calls after which a message becomes visible (now, or after the delay they name).
_SENDS = ("SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch")
_DUE_IN = "proactive.queue_activity.due_in"


def _delays(operation: str, params: dict[str, Any]) -> list[float]:
    """The seconds after which what the call sends is visible (one value for each message)."""
    if operation == "SendMessage":
        return [float(params.get("DelaySeconds") or 0)]
    if operation == "ChangeMessageVisibility":
        return [float(params.get("VisibilityTimeout") or 0)]
    field = "DelaySeconds" if operation == "SendMessageBatch" else "VisibilityTimeout"
    return [float(entry.get(field) or 0) for entry in params.get("Entries") or []] or [0.0]


class QueueActivity:
    """The times at which a message sent from this process becomes visible, for one poller to wait
    on (a wait that returns takes every moment then due)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: list[float] = []

    def at(self, *moments: float) -> None:
        """A message may be visible at each of `moments` (`time.monotonic()` values)."""
        with self._changed:
            for moment in moments:
                heapq.heappush(self._due, moment)
            self._changed.notify_all()

    def wake(self) -> None:
        """The poller looks now (the stack is stopping, say)."""
        self.at(time.monotonic())

    def wait(self, most: float) -> None:
        """Until a message may be visible, or `most` seconds."""
        deadline = time.monotonic() + most
        with self._changed:
            while True:
                now = time.monotonic()
                if self._due and self._due[0] <= now:
                    while self._due and self._due[0] <= now:
                        heapq.heappop(self._due)
                    return
                until = min(deadline, self._due[0]) if self._due else deadline
                if until <= now:
                    return
                self._changed.wait(until - now)

    def watch(self, session: Any) -> None:
        """Note every send of `session`'s SQS clients; clients made before this are not watched."""
        events = session.events

        def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            context[_DUE_IN] = _delays(model.name, params)

        def after(http_response: Any, context: dict[str, Any], **_: Any) -> None:
            if getattr(http_response, "status_code", 500) < 300:
                now = time.monotonic()
                self.at(*(now + delay for delay in context.get(_DUE_IN, [0.0])))

        for operation in _SENDS:
            events.register(f"before-parameter-build.sqs.{operation}", before)
            events.register(f"after-call.sqs.{operation}", after)
