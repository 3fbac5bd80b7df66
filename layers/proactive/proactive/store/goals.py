"""The goals the goal loop sets, per workspace.

A goal is kept whole as JSON text (its target, evidence and the pattern or forecast numbers
behind it), with the fields a list filters or sorts on beside it. Its id is the goal setter's
(the same goal type, metric and rule give the same goal) made unique to the workspace.
"""

from __future__ import annotations

from typing import Any

from proactive.store.entities import Entities


class Goals(Entities[dict[str, Any]]):
    kind = "goal"
    json_fields = ("goal",)

    def save(self, goal: dict[str, Any]) -> None:
        """Store a goal as it now is (a refreshed goal replaces what was stored)."""
        self.table.put(self.item(goal))
