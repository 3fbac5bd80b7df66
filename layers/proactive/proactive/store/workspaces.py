"""A workspace's own settings: its default agent and its default notification channels."""

from __future__ import annotations

from typing import Any

from proactive.store import keys
from proactive.store.table import Table, body


class Workspaces:
    kind = "workspace"

    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, workspace_id: str) -> dict[str, Any]:
        """The settings (empty ones for a workspace that never set any)."""
        item = self.table.get(keys.entity(self.kind, workspace_id))
        return body(item) if item else {"workspace_id": workspace_id}

    def put(self, settings: dict[str, Any]) -> dict[str, Any]:
        self.table.put({**keys.entity(self.kind, settings["workspace_id"]), "kind": self.kind, **settings})
        return settings
