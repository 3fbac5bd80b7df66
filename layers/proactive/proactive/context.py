"""What a function's work is done with: the table, the run queue and the clock.

Built once where a function starts (its handler, the API app, the local stack) and handed to
the work it looks up in the wiring, instead of module-level clients each caller must know of.
A test builds its own, with its own clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from proactive.clock import utcnow
from proactive.queue import RunQueue
from proactive.store import Store


@dataclass(frozen=True)
class Context:
    store: Store
    queue: RunQueue
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def create(cls) -> Context:
        """The table and queue the settings name, and the wall clock."""
        return cls(Store(), RunQueue())

    def now(self) -> datetime:
        return self.clock()
