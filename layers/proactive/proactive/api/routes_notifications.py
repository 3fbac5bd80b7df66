"""Notification channels, the notification log, and test messages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from proactive import references
from proactive.api import listing
from proactive.api.deps import CurrentPrincipal, Cursor, Limit, StoreDep, WorkspaceScope
from proactive.clock import utcnow
from proactive.errors import InvalidInput
from proactive.models.common import Page
from proactive.models.notifications import (
    Channel,
    ChannelCreate,
    ChannelRecord,
    ChannelSubscriptions,
    ChannelUpdate,
    ChannelWithSecret,
    Notification,
    SendOutcome,
    TestNotification,
)
from proactive.notifications import channels, crud, render, send, subscriptions
from proactive.notifications.notice import Notice

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.post("/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelWithSecret)
def create_channel(body: ChannelCreate, principal: CurrentPrincipal, store: StoreDep) -> ChannelWithSecret:
    """Create a channel: `discord`, `slack`, `ntfy`, `email` or `webhook`. A webhook channel's
    signing secret is shown in this answer only."""
    principal.require(body.workspace_id)
    channel = crud.create_channel(store, body, utcnow())
    return ChannelWithSecret.model_validate({**crud.present(channel).model_dump(), "secret": channel.secret})


@router.get("/channels", response_model=Page[Channel])
def list_channels(
    workspace: WorkspaceScope, store: StoreDep, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    items, next_cursor = store.channels.page(workspace, limit=limit, cursor=cursor)
    return listing.page(items, next_cursor, Channel, present=crud.present)


@router.get("/channels/{channel_id}", response_model=Channel)
def get_channel(channel_id: str, principal: CurrentPrincipal, store: StoreDep) -> Channel:
    return crud.present(crud.get_channel(store, channel_id, principal.workspaces))


@router.get("/channels/{channel_id}/subscriptions", response_model=ChannelSubscriptions)
def channel_subscriptions(
    channel_id: str, principal: CurrentPrincipal, store: StoreDep
) -> ChannelSubscriptions:
    """What tells the channel, and of which events: the schedules, triggers, monitors, agents,
    tasks and conversations whose `notify` names it (the events of the runs they start; a
    monitor's failing and recovering too), goal-loop notify actions, autonomous mode, and the
    workspace's default channels (a run's final failure, monitors, missed occurrences, the goal
    loop's analyses and approvals). An agent may also tell any channel with its notify tool."""
    channel = crud.get_channel(store, channel_id, principal.workspaces)
    return ChannelSubscriptions(channel_id=channel.id, items=subscriptions.subscriptions(store, channel))


@router.patch("/channels/{channel_id}", response_model=Channel)
def update_channel(
    channel_id: str, body: ChannelUpdate, principal: CurrentPrincipal, store: StoreDep
) -> Channel:
    """Rename, reconfigure, or turn on and off (turning on clears `disabled_reason`)."""
    return crud.present(crud.update_channel(store, channel_id, body, principal.workspaces, utcnow()))


@router.delete("/channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_channel(
    channel_id: str,
    principal: CurrentPrincipal,
    store: StoreDep,
    force: Annotated[
        bool, Query(description="Delete even while others name it, taking it out of each of them first.")
    ] = False,
) -> Response:
    """Delete a channel. While schedules, triggers, monitors, agents, tasks, conversations, notify
    actions, autonomous mode or the workspace's default channels name it, this answers 409 naming
    them; with `force=true` it is taken out of each of them first (each shows
    `channel_removed_reason`; a notify action left with no channel is paused)."""
    references.delete_channel(store, channel_id, principal.workspaces, utcnow(), force=force)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/log", response_model=Page[Notification])
def log(
    workspace: WorkspaceScope,
    store: StoreDep,
    channel_id: Annotated[str | None, Query(max_length=128)] = None,
    run_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Every notification, newest first: `sent`, `retrying`, `failed` or `dropped`, with what the
    receiver answered."""
    items, next_cursor = store.notifications.log(
        workspace, channel_id=channel_id, run_id=run_id, limit=limit, cursor=cursor
    )
    return listing.page(items, next_cursor, Notification)


@router.post("/test", response_model=SendOutcome)
def test(body: TestNotification, principal: CurrentPrincipal, store: StoreDep) -> send.Delivery:
    """Send a test message to a channel (`channel_id`) or to one given inline (`channel`), now, and
    answer what the receiver said."""
    if body.channel_id is not None and body.channel is not None:
        raise InvalidInput("give either channel_id or channel, not both", field="channel_id")
    now = utcnow()
    if body.channel_id is not None:
        channel = crud.get_channel(store, body.channel_id, principal.workspaces)
    elif body.channel is None:
        raise InvalidInput("give channel_id, or a channel {type, config}", field="channel_id")
    else:
        workspace = body.workspace_id or principal.only_workspace()
        principal.require(workspace)
        channel = ChannelRecord(
            id="inline",
            workspace_id=workspace,  # whose secrets an ntfy token_secret names
            name="inline",
            type=body.channel.type,
            config=channels.validate(body.channel.type, body.channel.config),
            is_active=True,
            secret=channels.new_channel_secret(),
            created_at=now,
            updated_at=now,
        )
    notice = Notice(
        event="test",
        title="Test Notification",
        outcome="info",
        summary=body.message,
        fields=(),
        body=None,
        link=None,
        ref=None,
        at=now,
    )
    rendered = render.render(channel.type, notice, channel.config)
    return send.deliver(channel, rendered, message_id=f"test-{int(now.timestamp() * 1000)}", now=now)
