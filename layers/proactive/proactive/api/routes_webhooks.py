from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response, status

from proactive.api import listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.webhooks import (
    Delivery,
    RegenerateSecret,
    Webhook,
    WebhookCreate,
    WebhookUpdate,
    WebhookWithSecret,
)
from proactive.settings import get_settings
from proactive.webhooks import crud as webhooks

router = APIRouter(prefix="/api/proactive/webhooks", tags=["webhooks"])


def _shown(request: Request, webhook: Mapping[str, Any], *, with_secret: bool = False) -> dict[str, Any]:
    base = get_settings().public_base_url or str(request.base_url)
    shown = webhooks.present(webhook, base, utcnow())
    if with_secret:
        shown["secret"] = webhook["secret"]
    return shown


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookWithSecret)
def create_webhook(
    request: Request, body: WebhookCreate, principal: CurrentPrincipal, store: StoreDep
) -> Any:
    """Create a webhook. The response is the only time its secret is shown."""
    principal.require(body.workspace_id)
    return _shown(request, webhooks.create_webhook(store, body, utcnow()), with_secret=True)


@router.get("", response_model=Page[Webhook])
def list_webhooks(
    request: Request, workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    items, next_cursor = store.webhooks.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Webhook, present=lambda w: _shown(request, w))


@router.get("/{webhook_id}", response_model=Webhook)
def get_webhook(request: Request, webhook_id: str, principal: CurrentPrincipal, store: StoreDep) -> Any:
    return _shown(request, webhooks.get_webhook(store, webhook_id, principal.workspaces))


@router.patch("/{webhook_id}", response_model=Webhook)
def update_webhook(
    request: Request, webhook_id: str, body: WebhookUpdate, principal: CurrentPrincipal, store: StoreDep
) -> Any:
    """Rename, retarget, pause (`is_active: false`) or change the rate limit."""
    return _shown(request, webhooks.update_webhook(store, webhook_id, body, principal.workspaces, utcnow()))


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: str, principal: CurrentPrincipal, store: StoreDep) -> Response:
    webhooks.delete_webhook(store, webhook_id, principal.workspaces)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook_id}/regenerate-secret", response_model=WebhookWithSecret)
def regenerate_secret(
    request: Request,
    webhook_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    body: RegenerateSecret | None = None,
) -> Any:
    """A new secret, shown only now. The old one stays valid for the grace period (24 h unless
    `grace_period_seconds` says otherwise) so senders can switch without dropping deliveries."""
    webhook = webhooks.regenerate_secret(
        store,
        webhook_id,
        body or RegenerateSecret(),
        principal.workspaces,
        utcnow(),
        get_settings().webhook_secret_grace_seconds,
    )
    return _shown(request, webhook, with_secret=True)


@router.get("/{webhook_id}/deliveries", response_model=Page[Delivery])
def deliveries(
    webhook_id: str, principal: CurrentPrincipal, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> Any:
    """Every delivery, newest first: accepted, duplicate, filtered, rejected, unauthorized or
    rate limited, with the reason and the run it started. A delivery that cannot be shown as
    stored is shown as well as it can be (`listing`): one never fails the page."""
    webhooks.get_webhook(store, webhook_id, principal.workspaces)
    items, next_cursor = store.deliveries.page(webhook_id, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Delivery)
