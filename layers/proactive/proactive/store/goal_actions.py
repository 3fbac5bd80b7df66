"""What the goal loop keeps about each goal an analysis acts on.

- `GoalActions`: one per goal an analysis acts on: the plan, the approval asked for and the
  decision (who, when, through what), the action's run or response, the impact measured and the
  outcome learnt, each with its time in `timeline`. It expires with its analysis.
- `TaskTokens`: the Step Functions task token a goal action waits on (an approval, an agent's
  run). Whoever holds one can end the wait, so it lives in an item of its own that no listing
  reads and no API returns, and it is removed when used.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from proactive.clock import parse_iso
from proactive.store import keys
from proactive.store.analyses import RETENTION_DAYS
from proactive.store.entities import Entities
from proactive.store.runs import expires
from proactive.store.table import ConditionFailed, Table


class GoalActions(Entities[dict[str, Any]]):
    kind = "goalaction"
    json_fields = ("plan", "impact", "result")

    def of_goal(self, goal_id: str) -> list[dict[str, Any]]:
        """The goal's actions, oldest first."""
        return [
            self.shown(i)
            for i in self.table.query_all(
                index=keys.GSI2, key=Key(keys.GSI2PK).eq(keys.goal_actions_partition(goal_id))
            )
        ]

    def create(self, action: Mapping[str, Any]) -> bool:
        """Store a new goal action; False if it exists (a step run twice makes it once)."""
        extra = {
            **keys.goal_action_listing(action["goal_id"], action["created_at"], action["id"]),
            keys.TTL_ATTRIBUTE: expires(parse_iso(action["created_at"]), RETENTION_DAYS),
        }
        try:
            self.put(action, extra=extra)
        except ConditionFailed:
            return False
        return True


class TaskTokens:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, goal_action_id: str, purpose: str, token: str, expires_at: datetime) -> None:
        self.table.put(
            {
                **keys.task_token(goal_action_id, purpose),
                "kind": "tasktoken",
                "token": token,
                keys.TTL_ATTRIBUTE: int(expires_at.timestamp()) + 86_400,
            }
        )

    def discard(self, goal_action_id: str, purpose: str) -> None:
        """Remove the token once its wait is over (used, timed out, or decided)."""
        self.table.delete(keys.task_token(goal_action_id, purpose))

    def peek(self, goal_action_id: str, purpose: str) -> str | None:
        item = self.table.get(keys.task_token(goal_action_id, purpose))
        return None if item is None else str(item["token"])
