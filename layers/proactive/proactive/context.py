"""What a function's work is done with: the table, the run queue, the event bus and the clock.

Built once where a function starts (its handler, the API app, the local stack) and handed to
the work it looks up in the wiring, instead of module-level clients each caller must know of.
The bus is the wiring's (`proactive.wiring.bus()`), handed in by whoever builds the context: this
module knows no subscriber. A test builds its own, with its own clock and subscribers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from proactive.clock import utcnow
from proactive.events import Bus
from proactive.queue import RunQueue
from proactive.store import Store


@dataclass(frozen=True)
class Context:
    store: Store
    queue: RunQueue
    bus: Bus
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def create(cls, bus: Bus) -> Context:
        """The table and queue the settings name, `bus`, and the wall clock."""
        return cls(Store(), RunQueue(), bus)

    def now(self) -> datetime:
        return self.clock()
