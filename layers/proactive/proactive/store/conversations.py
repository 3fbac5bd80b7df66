"""Conversations and their messages in order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from proactive.store import keys
from proactive.store.entities import Entities
from proactive.store.table import ConditionFailed, Table
from proactive.store.values import body


class Conversations(Entities[dict[str, Any]]):
    kind = "conversation"
    json_fields = ("context_data",)


class Messages:
    """A conversation's messages, oldest first, in the conversation's own partition, so a turn
    reads what was just written (consistent reads) and a page is one query."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def add(self, message: Mapping[str, Any]) -> bool:
        """Store a message; False if it is there already (messages made for a run have ids
        derived from it, so a repeated delivery adds nothing)."""
        key = keys.conversation_message(message["conversation_id"], message["created_at"], message["id"])
        try:
            self.table.put({**key, "kind": "message", **message}, condition=Attr(keys.PK).not_exists())
        except ConditionFailed:
            return False
        return True

    def get(self, conversation_id: str, at: str, message_id: str) -> dict[str, Any] | None:
        item = self.table.get(keys.conversation_message(conversation_id, at, message_id))
        return body(item) if item else None

    def page(
        self, conversation_id: str, *, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return self.table.query_page(
            index=None,
            partition=keys.conversation_messages_partition(conversation_id),
            limit=limit,
            cursor=cursor,
            oldest_first=True,
        )

    def latest(self, conversation_id: str, count: int) -> list[dict[str, Any]]:
        """The last `count` messages, oldest first."""
        items, _ = self.table.query(
            index=None,
            key=Key(keys.PK).eq(keys.conversation_messages_partition(conversation_id)),
            limit=count,
            newest_first=True,
            consistent=True,
        )
        return [body(i) for i in reversed(items)]

    def delete_all(self, conversation_id: str) -> int:
        """Remove every message of a conversation; how many there were."""
        found = list(
            self.table.query_all(
                index=None, key=Key(keys.PK).eq(keys.conversation_messages_partition(conversation_id))
            )
        )
        for item in found:
            self.table.delete({keys.PK: item[keys.PK], keys.SK: item[keys.SK]})
        return len(found)
