"""Fuzz target: cron expressions in IANA zones (`proactive.lib.cron`): validation, zone lookup and
fire times.

An input is three lines: the expression, the zone's name, and the start as Unix seconds (taken
modulo 1970..2099: schedules are computed from the current time; a start that is not a number is
2026-01-01).

Contract, for any expression, zone name and start:
- `validate_expression`, `load_zone` and `CronSchedule` raise CronError or return, and the
  normalised expression is a fixed point (validating it again changes nothing);
- the first fire is strictly after the start, and fires come in strictly increasing order;
- in a six-hour window after the start, the fires are exactly the DST rules' mapping of the local
  wall-clock minutes the expression matches (found by trying every minute, not by croniter's
  iteration): a wall time that exists fires at its first occurrence, and every run of wall times
  that a spring-forward gap swallows fires once, at the first instant after the gap.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from proactive.lib.cron import CronError, CronSchedule, load_zone, validate_expression
from tests.fuzz.common import NOW, expect, text_lines

WINDOW = timedelta(hours=6)
YEARS_1970_2099 = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp())
MINUTE = timedelta(minutes=1)


def _start(line: str) -> datetime:
    try:
        seconds = int(line.strip()) % YEARS_1970_2099
    except ValueError:
        return NOW
    return datetime.fromtimestamp(seconds, UTC)


def _matcher(expression: str) -> Callable[[datetime], bool] | None:
    """A match of one wall time against croniter's own reading of the fields, or None where that
    reading is not plain sets of values (L, #)."""
    parsed = croniter(expression)
    minutes, hours, days, months, weekdays = parsed.expanded
    plain = all(isinstance(v, int) for f in parsed.expanded for v in f if v != "*")
    if parsed.nth_weekday_of_month or not plain:
        return None
    # A field holding "*" among other values ("*,15") matches every value, as "*" alone does.
    sets = [None if "*" in f else set(f) for f in (minutes, hours, days, months, weekdays)]
    minute_set, hour_set, day_set, month_set, weekday_set = sets

    def matches(wall: datetime) -> bool:
        if (minute_set is not None and wall.minute not in minute_set) or (
            hour_set is not None and wall.hour not in hour_set
        ):
            return False
        if month_set is not None and wall.month not in month_set:
            return False
        day_ok = day_set is None or wall.day in day_set
        weekday_ok = weekday_set is None or wall.isoweekday() % 7 in weekday_set
        # Cron's rule: with both day fields restricted, either one matching is enough.
        if day_set is not None and weekday_set is not None:
            return day_ok or weekday_ok
        return day_ok and weekday_ok

    return matches


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant a matching wall time fires at, by the module's documented rules, found by
    searching rather than by the module's arithmetic."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    for candidate in sorted({first, second}):
        if candidate.astimezone(zone).replace(tzinfo=None) == wall:
            return candidate  # the earlier of the instants that show this wall time
    # No instant shows it: it is in a gap. The gap's end is the first instant whose wall time is
    # later than it; bisect between the two readings to the second.
    lo, hi = min(first, second), max(first, second)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) > wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def _expected(
    matches: Callable[[datetime], bool], zone: ZoneInfo, start: datetime, end: datetime
) -> set[datetime]:
    """Every fire in (start, end], found by trying each wall minute the window can show."""
    offsets = [(start + i * timedelta(minutes=15)).astimezone(zone).utcoffset() for i in range(25)]
    low = min(o for o in offsets if o is not None)
    high = max(o for o in offsets if o is not None)
    wall = (start.replace(tzinfo=None) + low).replace(second=0, microsecond=0) - MINUTE
    last_wall = end.replace(tzinfo=None) + high + MINUTE
    found = set()
    while wall <= last_wall:
        if matches(wall):
            instant = _instant(wall, zone)
            if start < instant <= end:
                found.add(instant)
        wall += MINUTE
    return found


def _transition(instant: datetime, zone: ZoneInfo) -> bool:
    """Whether the zone's offset changes at `instant` (it ends a DST gap, or another change)."""
    before = (instant - timedelta(seconds=1)).astimezone(zone).utcoffset()
    return before != instant.astimezone(zone).utcoffset()


def run(data: bytes) -> str:
    lines = [*text_lines(data), "", "", ""]
    expression, zone_name, start = lines[0], lines[1], _start(lines[2])
    try:
        normalised = validate_expression(expression)
    except CronError:
        normalised = None
    if normalised is not None:
        expect(validate_expression(normalised) == normalised, f"{normalised!r} is not a fixed point")
    try:
        zone = load_zone(zone_name)
    except CronError:
        zone = None
    try:
        schedule = CronSchedule(expression, zone_name)
    except CronError:
        expect(normalised is None or zone is None, "CronSchedule refused a valid expression and zone")
        return "refused"
    expect(normalised is not None and zone is not None, "CronSchedule accepted what validation refused")
    first = schedule.next_after(start)
    if first is None:
        return "never"
    expect(first > start, f"the first fire {first} is not after the start {start}")
    end = start + WINDOW
    fires = list(itertools.islice(schedule.between(start, end), 6 * 60 + 2))
    expect(all(a < b for a, b in itertools.pairwise(fires)), "fires are not strictly increasing")
    expect(all(start < f <= end for f in fires), "a fire is outside the window asked for")
    expect(not fires or fires[0] == first, f"between() starts at {fires[0] if fires else None}, not {first}")
    for fire in fires[:5]:
        wall = schedule.local(fire).replace(tzinfo=None)
        expect(
            croniter.match(schedule.expression, wall) or _transition(fire, schedule.zone),
            f"{fire} ({wall} local) neither matches the expression nor ends a DST gap",
        )
    matches = _matcher(schedule.expression)
    if matches is None:
        return "fires"
    expected = _expected(matches, schedule.zone, start, end)
    missing, extra = sorted(expected - set(fires)), sorted(set(fires) - expected)
    expect(not missing and not extra, f"fires missing {missing[:3]}, unexpected {extra[:3]}")
    return "fires" if fires else "fires-later"


@contextmanager
def target() -> Iterator[Callable[[bytes], str]]:
    yield run
