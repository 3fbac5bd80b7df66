"""From platform events to notifications: who is told (the run's notify plan, a resource's
channels, the workspace's default channels), what they are told (`wording`), and one queued
notification per channel, made once (its id names the event, the subject and the channel).

Sending happens in the worker (`delivery`), never here: a notification never fails or delays the
run or check it reports on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from proactive import events
from proactive.clock import iso, parse_iso
from proactive.ids import derived_id
from proactive.models.notifications import NotificationRecord
from proactive.notifications import targets, wording
from proactive.notifications.notice import Notice
from proactive.observability import logger
from proactive.queue import Message, RunQueue
from proactive.store import Store

_MOMENT = {"succeeded": "success", "failed": "failure"}


def notice_to_dict(notice: Notice) -> dict[str, Any]:
    return {**dataclasses.asdict(notice), "at": iso(notice.at)}


def notice_from_dict(data: Mapping[str, Any]) -> Notice:
    return Notice(
        **{
            **data,
            "at": parse_iso(data["at"]),
            "fields": tuple(tuple(f) for f in data.get("fields") or ()),
            "actions": tuple(tuple(a) for a in data.get("actions") or ()),
        }
    )


def notification_id(event_type: str, notice_event: str, key: str, channel_id: str) -> str:
    """One notification per event, notice, subject and channel: made twice, it is the same."""
    return derived_id("ntf", f"{event_type}#{notice_event}#{key}#{channel_id}")


def _defaults(store: Store, workspace_id: str) -> list[str]:
    return list(store.workspaces.get(workspace_id).get("default_channels") or [])


def _recipients(
    store: Store, event: events.Event, now: datetime
) -> tuple[Notice | None, list[str], str | None]:
    """(what to say, to which channels, the run it is about)."""
    subject = event.subject
    if event.type in (events.RUN_STARTED, events.RUN_FINISHED):
        moment = "start" if event.type == events.RUN_STARTED else _MOMENT.get(subject["status"])
        if moment is None:
            return None, [], None
        plan = subject.get("notify")
        agent: dict[str, Any] | None = None
        if plan is None:  # the run never started (it could not even be queued): settle it now
            agent = store.agents.get(subject["agent_id"]) or {}
            plan = targets.plan(store, subject, agent)
        channels = targets.wants(plan, moment)
        if not channels:
            return None, [], None
        if agent is None:
            agent = store.agents.get(subject["agent_id"]) or {}
        label = {"start": "started", "success": "succeeded", "failure": "failed"}[moment]
        notice = wording.for_run(subject, label, now, agent_name=agent.get("name"))
        return notice, channels, subject["id"]
    if event.type in (events.MONITOR_FAILING, events.MONITOR_RECOVERED):
        channels = _defaults(store, subject["workspace_id"]) + list(
            (subject.get("notify") or {}).get("channels", [])
        )
        return wording.for_monitor(subject, event.type == events.MONITOR_FAILING, now), channels, None
    if event.type == events.OCCURRENCE_MISSED:
        own = subject.get("source_notify") or {}
        channels = _defaults(store, subject["workspace_id"])
        channels += [c for c in own.get("channels", []) if "failure" in (own.get("on") or ["failure"])]
        return wording.for_missed(subject, now), channels, subject["id"]
    return None, [], None


def on_event(store: Store, queue: RunQueue, event: events.Event, now: datetime) -> None:
    """Subscriber: make and queue one notification per channel to tell about this event."""
    notice, channel_ids, run_id = _recipients(store, event, now)
    if notice is None or not channel_ids:
        return
    subject_id = event.subject["id"]
    # A schedule that missed many occurrences (a long downtime) is one notification per channel
    # and hour, not one per occurrence: every one is recorded as a missed run all the same.
    key = (
        f"{event.subject.get('source_id')}#{now:%Y-%m-%dT%H}"
        if event.type == events.OCCURRENCE_MISSED
        else subject_id
    )
    told_of_start: set[str] = set()
    if event.type == events.RUN_FINISHED:
        told_of_start = set(targets.wants(event.subject.get("notify"), "start"))
    queue_notice(
        store,
        queue,
        event.subject["workspace_id"],
        notice,
        channel_ids,
        event_type=event.type,
        key=key,
        subject_id=subject_id,
        run_id=run_id,
        now=now,
        told_of_start=told_of_start,
    )


def queue_notice(
    store: Store,
    queue: RunQueue,
    workspace_id: str,
    notice: Notice,
    channel_ids: list[str],
    *,
    event_type: str,
    key: str,
    subject_id: str,
    run_id: str | None,
    now: datetime,
    told_of_start: set[str] | frozenset[str] = frozenset(),
) -> int:
    """Make one notification of `notice` per channel (once: its id names the event, the key and the
    channel) and queue it; how many were queued."""
    messages = []
    # A channel told of a run's start hears of its end after that, not before.
    start_event = notice.event.rsplit(".", 1)[0] + ".started"
    for channel_id in dict.fromkeys(channel_ids):
        channel = store.channels.get(channel_id)
        if channel is None:
            logger.warning("a notify config names a channel that is gone", extra={"channel_id": channel_id})
            continue
        notification = NotificationRecord(
            id=notification_id(event_type, notice.event, key, channel_id),
            workspace_id=workspace_id,
            channel_id=channel_id,
            channel_type=channel.type,
            event=notice.event,
            title=notice.title,
            run_id=run_id,
            subject_id=subject_id,
            status="queued",
            attempts=0,
            notice=notice_to_dict(notice),
            after=(
                notification_id(events.RUN_STARTED, start_event, subject_id, channel_id)
                if channel_id in told_of_start
                else None
            ),
            created_at=now,
        )
        if not store.notifications.create(notification):
            # Made before: queued again only while it waits for its first attempt.
            made = store.notifications.get(notification.id)
            if made is None or made.status != "queued":
                continue
        messages.append(Message("notification", notification.id))
    queue.send(messages)
    return len(messages)
