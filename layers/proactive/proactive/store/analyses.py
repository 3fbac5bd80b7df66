"""What the goal loop's state machine keeps about each of its executions.

- `Analyses`: one per execution of the state machine: when and why it started, each step's
  summary as it finishes, how it ended.
- `AnalysisParts`: what a step computed for a later one (a metric's forecast, the anomaly
  scores, the patterns), as JSON text beside the analysis, expiring with it. Step Functions
  passes only ids between states: a forecast can be larger than a state's 256 KB payload.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from proactive.clock import parse_iso
from proactive.store import keys
from proactive.store.entities import Entities
from proactive.store.runs import expires
from proactive.store.table import ConditionFailed, Table
from proactive.store.values import from_json_text, json_text

RETENTION_DAYS = 30


class Analyses(Entities[dict[str, Any]]):
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
