"""Notification channels (per workspace; a webhook channel's signing secret sealed) and the
notification log: one item per message to one channel, listed in its workspace newest first,
expiring by TTL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from proactive.clock import parse_iso
from proactive.store.entities import SIGNING_SECRETS, Entities
from proactive.store.keys import TTL_ATTRIBUTE
from proactive.store.runs import expires
from proactive.store.table import ConditionFailed, Table


class Channels(Entities):
    kind = "channel"
    sealed_fields = SIGNING_SECRETS


class Notifications(Entities):
    kind = "notification"
    json_fields = ("notice",)

    def __init__(self, table: Table, retention_days: int) -> None:
        super().__init__(table)
        self.retention_days = retention_days

    def create(self, notification: Mapping[str, Any]) -> bool:
        """Store a notification; False if one with its id exists (it was already made)."""
        ttl = expires(parse_iso(notification["created_at"]), self.retention_days)
        try:
            self.put(notification, extra={TTL_ATTRIBUTE: ttl})
        except ConditionFailed:
            return False
        return True

    def log(
        self,
        workspace_id: str,
        *,
        channel_id: str | None,
        run_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The workspace's notifications, newest first, for one channel and/or one run."""
        filters: ConditionBase | None = None
        for name, value in (("channel_id", channel_id), ("run_id", run_id)):
            if value:
                cond = Attr(name).eq(value)
                filters = cond if filters is None else filters & cond
        return self.page(workspace_id, limit=limit, cursor=cursor, filters=filters)
