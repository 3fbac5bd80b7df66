"""The console's notifications pages.

- `/console/{ws}/notifications`: the workspace's channels (name, type, their config as the API
  shows it, masked, whether they are default channels, a test button) and the notification log
  (event, channel, time, status, attempts, the receiver's answer or the error, and the run or
  monitor it was about), filtered by channel or run as the API filters it, paged.
- `/console/{ws}/notifications/channels/{id}`: one channel, what tells it and of which events, a
  test button, and its own notifications.
- `POST .../channels/{id}/test`: the API sends the channel a test message now; the answer is what
  the receiver said (just that part of the page, for htmx; a page of its own otherwise).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from proactive.console.web import Checked, Looking, Viewer, api, console_router, render
from proactive.errors import NotFound

router = console_router()
PAGE = 50
# Filters of the log the API takes, as the page's query names them.
FILTERS = ("channel_id", "run_id")


def about(viewer: Viewer, item: dict[str, Any]) -> tuple[str, str] | None:
    """What a notification was about, as (label, console address): its run, or the monitor or
    the goal loop it told of; None for a test or an agent's own message without a run."""
    event = str(item.get("event") or "")
    if item.get("run_id"):
        return f"run {item['run_id']}", viewer.path("runs/" + quote(str(item["run_id"]), safe=""))
    if event.startswith("monitor.") and item.get("subject_id"):
        subject = str(item["subject_id"])
        return f"monitor {subject}", viewer.path("monitors/" + quote(subject, safe=""))
    if event.startswith("goal."):
        return "the goal loop", viewer.path("loop")
    return None


def page_url(request: Request, **changes: str | None) -> str:
    """This page's address with its query changed (a None drops that key)."""
    query = {**dict(request.query_params), **changes}
    kept = {k: v for k, v in query.items() if v}
    return f"{request.url.path}?{urlencode(kept)}" if kept else request.url.path


async def _log(
    request: Request, viewer: Viewer, filters: dict[str, str | None], cursor: str | None
) -> dict[str, Any]:
    found: dict[str, Any] = await api(
        request, viewer, "GET", "/api/notifications/log", params={**filters, "limit": PAGE, "cursor": cursor}
    )
    return found


@router.get("/{workspace}/notifications")
async def notifications_page(
    request: Request,
    workspace: str,
    viewer: Looking,
    cursor: str | None = None,
    channels_cursor: str | None = None,
    channel_id: str | None = None,
    run_id: str | None = None,
) -> HTMLResponse:
    """One page of the workspace's channels and one of what was sent."""
    filters = {"channel_id": (channel_id or "").strip() or None, "run_id": (run_id or "").strip() or None}
    channels = await api(
        request,
        viewer,
        "GET",
        "/api/notifications/channels",
        params={"limit": PAGE, "cursor": channels_cursor},
    )
    settings = await api(request, viewer, "GET", "/api/workspace/settings")
    log = await _log(request, viewer, filters, cursor)
    names = {c["id"]: c["name"] for c in channels["items"]}
    return render(
        request,
        "notifications/index.html",
        viewer,
        channels=channels["items"],
        defaults=set(settings.get("default_channels") or []),
        names=names,
        log=log["items"],
        about=lambda item: about(viewer, item),
        filters=filters,
        filtered=any(filters.values()),
        channels_next=page_url(request, channels_cursor=channels["next_cursor"])
        if channels.get("next_cursor")
        else None,
        log_next=page_url(request, cursor=log["next_cursor"]) if log.get("next_cursor") else None,
    )


async def own_channel(request: Request, viewer: Viewer, channel_id: str) -> dict[str, Any]:
    """The channel (masked, as the API shows it), when it is of the page's workspace (404 otherwise)."""
    channel = await api(request, viewer, "GET", f"/api/notifications/channels/{quote(channel_id, safe='')}")
    if channel.get("workspace_id") != viewer.workspace:
        raise NotFound(f"channel {channel_id!r} not found")
    return dict(channel)


@router.get("/{workspace}/notifications/channels/{channel_id}")
async def channel_page(
    request: Request, workspace: str, channel_id: str, viewer: Looking, cursor: str | None = None
) -> HTMLResponse:
    """A channel, what tells it and of which events, and one page of what was sent to it."""
    channel = await own_channel(request, viewer, channel_id)
    told_by = await api(
        request, viewer, "GET", f"/api/notifications/channels/{quote(channel_id, safe='')}/subscriptions"
    )
    log = await _log(request, viewer, {"channel_id": channel_id}, cursor)
    return render(
        request,
        "notifications/channel.html",
        viewer,
        channel=channel,
        subscriptions=told_by["items"],
        names={channel["id"]: channel["name"]},
        log=log["items"],
        about=lambda item: about(viewer, item),
        log_next=page_url(request, cursor=log["next_cursor"]) if log.get("next_cursor") else None,
    )


@router.post("/{workspace}/notifications/channels/{channel_id}/test")
async def test_channel(request: Request, workspace: str, channel_id: str, viewer: Checked) -> HTMLResponse:
    """Send the channel a test message now, and show what the receiver answered."""
    channel = await own_channel(request, viewer, channel_id)
    outcome = await api(request, viewer, "POST", "/api/notifications/test", {"channel_id": channel["id"]})
    return render(request, "notifications/tested.html", viewer, channel=channel, outcome=outcome)
