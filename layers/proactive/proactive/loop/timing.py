"""Time in the goal loop: hours, a workspace's zone, the next local hour, how a time reads, and
a metric's current level (the median of its last hour, so one noisy point does not move it)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from proactive.errors import InvalidInput

# (epoch seconds, value).
Point = tuple[float, float]

HOUR = 3600.0
_RECENT_SECONDS = HOUR


def recent_level(points: Sequence[Point], now: float) -> float | None:
    """The median of the last hour's points, else the latest point's value; None without points."""
    recent = [v for t, v in points if now - _RECENT_SECONDS <= t <= now]
    if recent:
        return float(statistics.median(recent))
    past = [(t, v) for t, v in points if t <= now]
    return max(past)[1] if past else None


def zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'", field="timezone"
        ) from None


def next_local_hour(now: float, hour: int, zone: ZoneInfo, weekday: int | None = None) -> float:
    """The start of the next local `hour` (on `weekday`, Monday 0, if given) not over by `now`.

    Within that hour already, its start (before `now`) is returned.
    """
    today = datetime.fromtimestamp(now, zone).date()
    for offset in range(-1, 9):
        day = today + timedelta(days=offset)
        if weekday is not None and day.weekday() != weekday:
            continue
        start = datetime(day.year, day.month, day.day, hour, tzinfo=zone).timestamp()
        if start + HOUR > now:
            return start
    raise ValueError("weekday must be between 0 (Monday) and 6")


def local_time(t: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%Y-%m-%d %H:%M ") + str(zone)


def from_now(t: float, now: float) -> str:
    hours = (t - now) / HOUR
    return f"in {hours / 24:.1f} days" if hours >= 48 else f"in {hours:.1f} h"
