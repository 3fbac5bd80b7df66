"""A workspace's own settings: its default agent and its default notification channels."""

from __future__ import annotations

from typing import Any

from proactive.store import keys
from proactive.store.table import Table, Update
from proactive.store.values import body


class Workspaces:
    kind = "workspace"

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, workspace_id: str) -> dict[str, Any]:
        """The settings (empty ones for a workspace that never set any)."""
        item = self.table.get(keys.entity(self.kind, workspace_id))
        return body(item) if item else {"workspace_id": workspace_id}

    def set(self, workspace_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Set the given fields, leaving the others as they are, and return the settings as they
        are now. One update in place, so two callers changing different fields both keep theirs."""
        change = Update(
            keys.entity(self.kind, workspace_id),
            set_values={**changes, "kind": self.kind, "workspace_id": workspace_id},
            must_exist=False,
        )
        return body(self.table.update(change))
