"""What the goal loop's state machine keeps between its steps.

- `Analyses`: one per execution of the state machine: when and why it started, each step's
  summary as it finishes, how it ended.
- `AnalysisParts`: what a step computed for a later one (a metric's forecast, the anomaly
  scores, the patterns), as JSON text beside the analysis, expiring with it. Step Functions
  passes only ids between states: a forecast can be larger than a state's 256 KB payload.
- `GoalActions`: one per goal an analysis acts on: the plan, the approval asked for and the
  decision (who, when, through what), the action's run or response, the impact measured and the
  outcome learnt, each with its time in `timeline`.
- `TaskTokens`: the Step Functions task token a goal action waits on (an approval, an agent's
  run). Whoever holds one can end the wait, so it lives in an item of its own that no listing
  reads and no API returns, and it is removed when used.
- `PlatformKeys`: random keys the platform makes for itself on first use (the approval links'
  signing key), so a deployment needs no secret set up by hand. Each is sealed in the table
  (`proactive.sealing`); one stored in clear before keys were sealed is sealed when next read.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from proactive.clock import parse_iso
from proactive.store import keys
from proactive.store.entities import Entities, in_clear, seal_fields, seal_in_place, unseal_fields
from proactive.store.runs import expires
from proactive.store.table import ConditionFailed, Table, from_json_text, json_text

RETENTION_DAYS = 30
_KEY_BYTES = 32


class Analyses(Entities):
    kind = "analysis"

    def create(self, analysis: Mapping[str, Any]) -> bool:
        """Store a new analysis; False if it exists (the execution's name is its id)."""
        try:
            self.put(
                analysis,
                extra={keys.TTL_ATTRIBUTE: expires(parse_iso(analysis["created_at"]), RETENTION_DAYS)},
            )
        except ConditionFailed:
            return False
        return True


class GoalActions(Entities):
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


class AnalysisParts:
    def __init__(self, table: Table) -> None:
        self.table = table

    def put(self, analysis_id: str, name: str, value: Any, now: datetime) -> None:
        self.table.put(
            {
                **keys.analysis_part(analysis_id, name),
                "kind": "analysispart",
                "value_json": json_text(value, field=name),
                keys.TTL_ATTRIBUTE: expires(now, RETENTION_DAYS),
            }
        )

    def get(self, analysis_id: str, name: str) -> Any:
        item = self.table.get(keys.analysis_part(analysis_id, name))
        return None if item is None else from_json_text(item["value_json"])


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


class PlatformKeys:
    kind = "platformkey"
    sealed_fields = ("secret",)

    def __init__(self, table: Table) -> None:
        self.table = table

    def get_or_create(self, name: str) -> bytes:
        """The key named `name`, made (random, 32 bytes) by whoever asks first. It is stored
        sealed; one stored in clear, before keys were sealed, is sealed now (`seal_in_place`)."""
        key = keys.platform_key(name)
        item = self.table.get(key)
        if item is None:
            made = base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode()
            # Someone else made it first: use theirs.
            with contextlib.suppress(ConditionFailed):
                self.table.put(
                    {
                        **key,
                        "kind": self.kind,
                        **seal_fields(self.kind, name, {"secret": made}, self.sealed_fields),
                    },
                    condition=Attr(keys.PK).not_exists(),
                )
            item = self.table.get(key)
            assert item is not None
        seal_in_place(self.table, key, self.kind, name, in_clear(item, self.sealed_fields))
        shown = unseal_fields(self.kind, {**item, "id": name}, self.sealed_fields)
        return base64.b64decode(str(shown["secret"]))
