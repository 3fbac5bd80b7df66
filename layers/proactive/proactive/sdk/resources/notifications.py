"""`/api/notifications`: channels, the log of what they were told, and test messages."""

from __future__ import annotations

from typing import Any

from proactive.models.common import Page
from proactive.models.notifications import Channel, ChannelWithSecret, Notification, SendOutcome
from proactive.sdk.calls import Mode, call, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, DeletesInUse, Listed, Managed


class Channels(Managed[Channel, ChannelWithSecret, Mode], Listed[Channel, Mode], DeletesInUse[Channel, Mode]):
    """`/api/notifications/channels`: where people are told (discord, slack, ntfy, email, webhook),
    and the log of what they were told. `create(workspace_id=..., name=..., type=..., config={...})`;
    a webhook channel's signing secret is in that answer only."""

    path, model, created = "/api/notifications/channels", Channel, ChannelWithSecret

    @call
    async def test(
        self,
        channel_id: str | None = None,
        *,
        channel: dict[str, Any] | None = None,
        message: str | None = None,
        workspace_id: str | None = None,
    ) -> SendOutcome:
        """Send a test message now to a channel (by id, or `channel={"type", "config"}`) and give
        back what the receiver said."""
        body: dict[str, Any] = {"channel_id": channel_id, "channel": channel, "workspace_id": workspace_id}
        if message is not None:
            body["message"] = message
        return await self._answer(SendOutcome, "POST", "/api/notifications/test", json=body)

    @paged
    async def log(
        self,
        *,
        channel_id: str | None = None,
        run_id: str | None = None,
        workspace_id: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> Page[Notification]:
        """A page of notifications, newest first (`sent`, `retrying`, `failed` or `dropped`),
        with what the receiver answered."""
        params = {"channel_id": channel_id, "run_id": run_id, "workspace_id": workspace_id}
        return await self._page(Notification, "/api/notifications/log", params, limit, cursor)

    iterate_log = each(log)
