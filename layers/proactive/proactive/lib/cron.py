"""Cron expressions evaluated in an IANA time zone, with well-defined DST behaviour.

The expression is matched against local wall-clock times (never converted to UTC once), and
each matching wall time is then mapped to one instant:

- a wall time that occurs twice (the hour repeated when clocks fall back) fires once, at its
  first occurrence;
- a wall time that does not exist (skipped when clocks spring forward) fires once, at the first
  valid instant after the gap; several skipped times collapse into that one fire.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

_MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
# No cron expression repeats less often than this, so a search this long without a match
# means the expression can never match (e.g. "0 0 30 2 *").
_SEARCH_LIMIT = timedelta(days=366 * 5)
# croniter reads a field of R (optionally R(a-b) or R/n) as a value drawn at random each time the
# expression is parsed, and H as one hashed from an id: either would move the schedule's fires
# every time it is computed. No month or day name starts with R or H.
_DRAWN_FIELD = re.compile(r"[hr](?:\(|/|$)", re.IGNORECASE)


class CronError(ValueError):
    """A cron expression or time zone that cannot be used."""


def validate_expression(expression: str) -> str:
    """Return the normalised expression or raise CronError saying what is wrong."""
    expr = " ".join(expression.split())
    if not expr:
        raise CronError("cron expression is empty")
    if expr.startswith("@"):
        if expr.lower() not in _MACROS:
            raise CronError(f"unknown cron macro {expr!r}; use one of {', '.join(sorted(_MACROS))}")
        return expr.lower()
    fields = expr.split(" ")
    if len(fields) != 5:
        raise CronError(
            f"cron expression {expr!r} has {len(fields)} fields; "
            "expected 5 (minute hour day-of-month month day-of-week)"
        )
    if any(_DRAWN_FIELD.match(f) for f in fields):
        raise CronError(
            f"cron expression {expr!r} uses R (a random value) or H (a hashed one); "
            "write the minute, hour or day itself"
        )
    if not croniter.is_valid(expr):
        raise CronError(f"invalid cron expression {expr!r}")
    try:
        croniter(expr, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise CronError(f"cron expression {expr!r} never matches a date") from exc
    return expr


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`, or CronError if there is none."""
    shown = name if len(name) <= 60 else name[:57] + "..."
    if not name or len(name) > 64:
        raise CronError(f"unknown time zone {shown!r}; use an IANA name such as 'Europe/Paris'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a name that is a folder of the zone database ("America"), or not a file name.
        raise CronError(f"unknown time zone {shown!r}; use an IANA name such as 'Europe/Paris'") from exc


def _wall_time_exists(naive: datetime, zone: ZoneInfo) -> bool:
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == naive


def _gap_end(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first valid instant after the DST gap that swallows `naive`."""
    # With fold=1 the pre-gap offset applies; with fold=0 the post-gap one (PEP 495), so the
    # transition lies between the two readings. Bisect to the second.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if lo > hi:
        lo, hi = hi, lo
    before = lo.astimezone(zone).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)


def to_instant(naive: datetime, zone: ZoneInfo) -> datetime:
    """Map a local wall time to the single instant it fires at (UTC)."""
    if not _wall_time_exists(naive, zone):
        return _gap_end(naive, zone)
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC)


class CronSchedule:
    """A validated cron expression in a time zone; yields fire instants in UTC."""

    def __init__(self, expression: str, timezone: str) -> None:
        self.expression = validate_expression(expression)
        self.zone = load_zone(timezone)
        self.timezone = timezone

    def iter_after(self, after: datetime) -> Iterator[datetime]:
        """Fire instants strictly after `after` (aware), in order, each exactly once."""
        if after.tzinfo is None:
            raise ValueError("`after` must be timezone-aware")
        after_utc = after.astimezone(UTC)
        start_local = after_utc.astimezone(self.zone).replace(tzinfo=None)
        it = croniter(self.expression, start_local)
        last = after_utc
        while True:
            try:
                naive = it.get_next(datetime)
            except CroniterBadDateError:
                return
            if naive - start_local > _SEARCH_LIMIT:
                return
            instant = to_instant(naive, self.zone)
            # Skips the second reading of a repeated hour and collapses skipped times.
            if instant <= last:
                continue
            last = instant
            yield instant

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire instant strictly after `after`, or None if it never fires."""
        return next(self.iter_after(after), None)

    def between(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Fire instants in (after, until]."""
        for instant in self.iter_after(after):
            if instant > until:
                return
            yield instant

    def local(self, instant: datetime) -> datetime:
        """`instant` in this schedule's zone (aware, with the zone's offset)."""
        return instant.astimezone(self.zone)
