"""A workspace's secrets as the table knows them: each one's name and when it was created and last
set. Their values are in the secret store (proactive.secret_store), never in the table."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from proactive.store import keys
from proactive.store.table import ConditionFailed, Table, Update


class Secrets:
    kind = "secret"

    def __init__(self, table: Table) -> None:
        self.table = table

    @staticmethod
    def _shown(item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in ("workspace_id", "name", "created_at", "updated_at")}

    def get(self, workspace_id: str, name: str) -> dict[str, Any] | None:
        item = self.table.get(keys.secret(workspace_id, name))
        return self._shown(item) if item else None

    def all_in(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's secrets, by name (read consistently)."""
        return [
            self._shown(i)
            for i in self.table.query_all(
                index=None, key=Key(keys.PK).eq(keys.secrets_partition(workspace_id))
            )
        ]

    def record(self, workspace_id: str, name: str, at: str) -> tuple[dict[str, Any], bool]:
        """Note that the secret was set at `at`: a new one is created then, one that exists keeps
        its `created_at`. Returns the secret and whether it is new."""
        key = keys.secret(workspace_id, name)
        new = {"workspace_id": workspace_id, "name": name, "created_at": at, "updated_at": at}
        while True:
            try:
                self.table.put({**key, "kind": self.kind, **new}, condition=Attr(keys.PK).not_exists())
                return new, True
            except ConditionFailed:
                pass
            try:
                return self._shown(self.table.update(Update(key, set_values={"updated_at": at}))), False
            except ConditionFailed:
                continue  # deleted in between: create it again

    def delete(self, workspace_id: str, name: str) -> bool:
        """Forget the secret; False if there was none."""
        return self.table.delete(keys.secret(workspace_id, name))
