from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from proactive.api import listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, QueueDep, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.models.common import Page
from proactive.models.runs import Run
from proactive.models.webhooks import (
    Delivery,
    RegenerateSecret,
    Webhook,
    WebhookCreate,
    WebhookRecord,
    WebhookTest,
    WebhookTestResult,
    WebhookUpdate,
    WebhookWithSecret,
)
from proactive.settings import get_settings
from proactive.webhooks import crud as webhooks
from proactive.webhooks import sending

router = APIRouter(prefix="/api/proactive/webhooks", tags=["webhooks"])


def _shown(request: Request, webhook: WebhookRecord) -> Webhook:
    base = get_settings().public_base_url or str(request.base_url)
    return webhooks.present(webhook, base, utcnow())


def _with_secret(request: Request, webhook: WebhookRecord) -> WebhookWithSecret:
    """The webhook as shown, and its secret: only when it is made or its secret is renewed."""
    return WebhookWithSecret.model_validate(
        {**_shown(request, webhook).model_dump(), "secret": webhook.secret}
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookWithSecret)
def create_webhook(
    request: Request, body: WebhookCreate, principal: CurrentPrincipal, store: StoreDep
) -> WebhookWithSecret:
    """Create a webhook. The response is the only time its secret is shown."""
    principal.require(body.workspace_id)
    return _with_secret(request, webhooks.create_webhook(store, body, utcnow()))


@router.get("", response_model=Page[Webhook])
def list_webhooks(
    request: Request, workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    items, next_cursor = store.webhooks.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Webhook, present=lambda w: _shown(request, w))


@router.get("/{webhook_id}", response_model=Webhook)
def get_webhook(request: Request, webhook_id: str, principal: CurrentPrincipal, store: StoreDep) -> Webhook:
    return _shown(request, webhooks.get_webhook(store, webhook_id, principal.workspaces))


@router.patch("/{webhook_id}", response_model=Webhook)
def update_webhook(
    request: Request, webhook_id: str, body: WebhookUpdate, principal: CurrentPrincipal, store: StoreDep
) -> Webhook:
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
) -> WebhookWithSecret:
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
    return _with_secret(request, webhook)


@router.get("/{webhook_id}/deliveries", response_model=Page[Delivery])
def deliveries(
    webhook_id: str, principal: CurrentPrincipal, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """Every delivery, newest first: accepted, duplicate, filtered, rejected, unauthorized or
    rate limited, with the reason and the run it started. A delivery that cannot be shown as
    stored is shown as well as it can be (`listing`): one never fails the page."""
    webhooks.get_webhook(store, webhook_id, principal.workspaces)
    items, next_cursor = store.deliveries.page(webhook_id, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Delivery)


@router.post("/{webhook_id}/test", response_model=WebhookTestResult)
def send_test(
    webhook_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    queue: QueueDep,
    body: WebhookTest | None = None,
) -> dict[str, Any]:
    """Deliver a test event to the webhook, signed with its current secret as a sender would sign
    it (the secret never leaves the platform), and answer what its URL answered, the delivery as
    its log holds it (its id starts with `test-`) and the run it started. It is a real delivery:
    the URL of a paused webhook answers it 409 (`status_code`) and nothing runs, it counts
    against the rate limit, and one its trigger takes starts the agent (queued; the worker runs
    it). Without a `payload`, it carries a small one saying it is a test."""
    webhook = webhooks.get_webhook(store, webhook_id, principal.workspaces)
    asked = body or WebhookTest()
    outcome = sending.send_test(store, queue, webhook, asked.payload, asked.event, utcnow(), get_settings())
    return {
        "status_code": outcome.status_code,
        "answer": outcome.answer,
        "delivery": listing.shown_one(outcome.delivery, Delivery) if outcome.delivery else None,
        "run": listing.shown_one(outcome.run, Run) if outcome.run else None,
    }
