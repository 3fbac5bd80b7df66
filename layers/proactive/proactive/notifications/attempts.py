"""In the worker: send one notification, and record what the receiver said.

Sent, it is done. A receiver that asks to wait (429) or fails for a while (5xx, a timeout) is
tried again through the queue, after what it asked for or an exponential back-off with full
jitter; after `notification_max_attempts` it is `failed`. A receiver that says the endpoint is
gone (Discord 401/404, Slack `channel_is_archived`...) turns the channel off with that reason, and
the notification is `failed` without another try. Each attempt has its own message, so a
duplicate of one never sends twice.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr

from proactive.clock import parse_iso
from proactive.models.notifications import ChannelRecord, NotificationRecord
from proactive.notifications import render, send
from proactive.notifications.outbox import notice_from_dict
from proactive.observability import logger, metrics
from proactive.queue import MAX_DELAY_SECONDS, Message, RunQueue
from proactive.settings import get_settings
from proactive.store import ConditionFailed, Store

DONE = frozenset({"sent", "failed", "dropped"})
# ntfy sends no Retry-After with its 429; wait at least this long before trying it again.
MIN_WAIT_AFTER_429 = 5.0
BASE_SECONDS = 5.0
# How many times a run's end waits for its start to be sent first, before going anyway.
MAX_WAITS_FOR_FIRST = 30


def _record(store: Store, notification: NotificationRecord, changes: Mapping[str, Any]) -> NotificationRecord:
    return store.notifications.update(
        notification.id, changes, condition=Attr("attempts").eq(notification.attempts)
    )


def perform(
    store: Store,
    queue: RunQueue,
    notification_id: str,
    now_fn: Callable[[], datetime],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    notification = store.notifications.get(notification_id)
    if notification is None:
        return {"notification_id": notification_id, "status": "gone"}
    attempts = notification.attempts
    if notification.status in DONE or attempts >= int(extra.get("attempt") or 1):
        return {"notification_id": notification_id, "status": notification.status}
    now = now_fn()
    waiting = _wait_for_first(store, queue, notification, attempts, now, int(extra.get("wait") or 0))
    if waiting is not None:
        return waiting
    channel = store.channels.get(notification.channel_id)
    if channel is None or not channel.is_active:
        reason = (
            "the channel was deleted"
            if channel is None
            else f"the channel is off: {channel.disabled_reason or 'turned off'}"
        )
        return _public(
            _record(store, notification, {"status": "dropped", "reason": reason, "attempts": attempts})
        )
    notice = notice_from_dict(notification.notice)
    rendered = render.render(channel.type, notice, channel.config)
    outcome = send.deliver(channel, rendered, message_id=f"{notification_id}-{attempts + 1}", now=now)
    changes: dict[str, Any] = {
        "attempts": attempts + 1,
        "http_status": outcome.http_status,
        "answer": outcome.answer,
        "reason": outcome.reason,
    }
    metrics.add_metric(name=f"Notifications{outcome.status.capitalize()}", unit="Count", value=1)
    if outcome.status == "sent":
        changes.update(status="sent", sent_at=now, next_attempt_at=None)
    elif outcome.status == "retry" and attempts + 1 < get_settings().notification_max_attempts:
        delay = _wait(outcome.retry_after, attempts + 1, channel.type, outcome.http_status)
        changes.update(status="retrying", next_attempt_at=now + timedelta(seconds=delay))
        queue.send([Message("notification", notification_id, math.ceil(delay), (("attempt", attempts + 2),))])
    elif outcome.status == "gone":
        changes.update(status="failed", next_attempt_at=None)
        _turn_off(store, channel, outcome.reason or f"the receiver answered {outcome.http_status}", now)
    else:
        changes.update(status="failed", next_attempt_at=None)
        if outcome.status == "retry":
            changes["reason"] = f"gave up after {attempts + 1} attempts: {outcome.reason or outcome.answer}"
    try:
        return _public(_record(store, notification, changes))
    except ConditionFailed:
        return {"notification_id": notification_id, "status": "taken"}


def _wait_for_first(
    store: Store, queue: RunQueue, notification: NotificationRecord, attempts: int, now: datetime, waits: int
) -> dict[str, Any] | None:
    """A run's end is sent to a channel after its start: while the start notification is still
    on its way, this one comes back when the start's next try is due (a second at least)."""
    first = store.notifications.get(notification.after) if notification.after else None
    if first is None or first.status in DONE or waits >= MAX_WAITS_FOR_FIRST:
        return None
    due = first.next_attempt_at or now
    delay = min(MAX_DELAY_SECONDS, max(1, math.ceil((due - now).total_seconds()) + 1))
    extra = (("attempt", attempts + 1), ("wait", waits + 1))
    queue.send([Message("notification", notification.id, delay, extra)])
    return {"notification_id": notification.id, "status": "waiting"}


def _wait(retry_after: float | None, attempt: int, channel_type: str, status: int | None) -> float:
    """How long before the next try: what the receiver asked (at least 5 s for ntfy's bare 429),
    else a full-jitter back-off; never more than SQS can delay a message."""
    jitter = random.uniform(0, BASE_SECONDS * 2 ** (attempt - 1))  # noqa: S311 - jitter, not a secret
    wait = retry_after if retry_after is not None else jitter
    if channel_type == "ntfy" and status == 429:
        wait = max(wait, MIN_WAIT_AFTER_429)
    return min(float(MAX_DELAY_SECONDS), max(0.0, wait))


def _turn_off(store: Store, channel: ChannelRecord, reason: str, now: datetime) -> None:
    try:
        store.channels.update(
            channel.id,
            {"is_active": False, "disabled_reason": reason, "updated_at": now},
            condition=Attr("is_active").eq(True),
        )
    except ConditionFailed:
        return
    logger.warning("notification channel turned off", extra={"channel_id": channel.id, "reason": reason})


def _public(notification: NotificationRecord) -> dict[str, Any]:
    return {"notification_id": notification.id, "status": notification.status}


def requeue(notification: Mapping[str, Any], now: datetime) -> Message | None:
    """A notification not yet sent when its queue was lost (the local stack's restart) is queued
    again for its next attempt, at the time that attempt was due."""
    if notification.get("status") not in ("queued", "retrying"):
        return None
    attempt = int(notification.get("attempts") or 0) + 1
    due = notification.get("next_attempt_at")
    delay = min(MAX_DELAY_SECONDS, max(0, math.ceil((parse_iso(due) - now).total_seconds()))) if due else 0
    return Message("notification", str(notification["id"]), delay, (("attempt", attempt),))


def abandon(store: Store, queue: RunQueue, notification_id: str, now: datetime, reason: str) -> None:
    """A notification whose queue message was set aside after failing every receive: `failed`,
    saying why, rather than `queued` or `retrying` forever."""
    notification = store.notifications.get(notification_id)
    if notification is None or notification.status in DONE:
        return
    try:
        _record(store, notification, {"status": "failed", "reason": reason, "next_attempt_at": None})
    except ConditionFailed:
        return  # an attempt was recorded meanwhile; what it recorded stands
