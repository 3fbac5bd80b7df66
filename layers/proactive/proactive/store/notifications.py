"""Notification channels (per workspace; a webhook channel's signing secret sealed) and the
notification log: one item per message to one channel, listed in its workspace newest first,
expiring by TTL."""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr, ConditionBase

from proactive.models.notifications import ChannelRecord, NotificationRecord
from proactive.store.entities import SIGNING_SECRETS, Entities
from proactive.store.keys import TTL_ATTRIBUTE
from proactive.store.runs import expires
from proactive.store.table import ConditionFailed, Table


class Channels(Entities[ChannelRecord]):
    kind = "channel"
    record = ChannelRecord
    sealed_fields = SIGNING_SECRETS


class Notifications(Entities[NotificationRecord]):
    kind = "notification"
    record = NotificationRecord
    json_fields = ("notice",)

    def __init__(self, table: Table, retention_days: int) -> None:
        super().__init__(table)
        self.retention_days = retention_days

    def create(self, notification: NotificationRecord) -> bool:
        """Store a notification; False if one with its id exists (it was already made)."""
        ttl = expires(notification.created_at, self.retention_days)
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
    ) -> tuple[list[NotificationRecord], str | None]:
        """The workspace's notifications, newest first, for one channel and/or one run."""
        filters: ConditionBase | None = None
        for name, value in (("channel_id", channel_id), ("run_id", run_id)):
            if value:
                cond = Attr(name).eq(value)
                filters = cond if filters is None else filters & cond
        return self.page(workspace_id, limit=limit, cursor=cursor, filters=filters)
