"""`/api/proactive/webhooks`: signed public URLs that fire a trigger."""

from __future__ import annotations

from proactive.models.common import Page
from proactive.models.webhooks import Delivery, Webhook, WebhookWithSecret
from proactive.sdk.calls import Mode, each, paged
from proactive.sdk.resources.base import DEFAULT_LIMIT, Deletes, Listed, Managed, Signed


class WebhookManager(
    Managed[Webhook, WebhookWithSecret, Mode],
    Listed[Webhook, Mode],
    Deletes[Webhook, Mode],
    Signed[Webhook, WebhookWithSecret, Mode],
):
    """`/api/proactive/webhooks`: signed public URLs that fire a trigger.
    `create(workspace_id=..., name=..., trigger_id=...)` answers the secret, this once."""

    path, model, created = "/api/proactive/webhooks", Webhook, WebhookWithSecret

    @paged
    async def deliveries(
        self, webhook_id: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> Page[Delivery]:
        """A page of its deliveries, newest first, whatever became of each (accepted, duplicate,
        filtered, rejected, unauthorized, rate limited) and the run it started."""
        return await self._page(Delivery, self._url(webhook_id, "deliveries"), {}, limit, cursor)

    iterate_deliveries = each(deliveries)
