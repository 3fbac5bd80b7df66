"""Cron in IANA zones: DST behaviour a user would see in their run history."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.lib.cron import CronError, CronSchedule, validate_expression

NY = "America/New_York"


def local_times(expression: str, zone: str, start: datetime, end: datetime) -> list[str]:
    cron = CronSchedule(expression, zone)
    return [cron.local(t).isoformat() for t in cron.between(start, end)]


def test_daily_fire_keeps_local_time_across_dst_changes() -> None:
    # Given a 09:00 New York schedule, when the clocks change in March and November,
    # then it still fires at 09:00 local: 14:00 UTC in winter, 13:00 UTC in summer.
    cron = CronSchedule("0 9 * * *", NY)
    fires = list(cron.between(datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)))
    assert [f.hour for f in fires] == [14, 14, 13, 13]
    assert all(cron.local(f).hour == 9 for f in fires)


def test_spring_forward_nonexistent_time_fires_once_at_end_of_gap() -> None:
    # 02:30 does not exist in New York on 2026-03-08: fire once at 03:00 EDT.
    assert local_times(
        "30 2 * * *", NY, datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC)
    ) == [
        "2026-03-08T03:00:00-04:00",
        "2026-03-09T02:30:00-04:00",
    ]


def test_spring_forward_collapses_every_skipped_time_into_one_fire() -> None:
    fires = local_times(
        "*/15 * * * *", NY, datetime(2026, 3, 8, 6, 40, tzinfo=UTC), datetime(2026, 3, 8, 7, 20, tzinfo=UTC)
    )
    assert fires == ["2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"]


def test_fall_back_repeated_time_fires_once() -> None:
    # 01:30 happens twice in New York on 2026-11-01 (EDT, then EST): fire only the first.
    fires = local_times(
        "30 1 * * *", NY, datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 2, 12, tzinfo=UTC)
    )
    assert fires == ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]


def test_fall_back_hourly_does_not_repeat_the_hour() -> None:
    fires = local_times(
        "0 * * * *", NY, datetime(2026, 11, 1, 4, 30, tzinfo=UTC), datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    )
    assert fires == ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"]


def test_half_hour_dst_zone() -> None:
    # Lord Howe Island moves its clocks by 30 minutes: 02:15 is skipped on 2026-10-04.
    fires = local_times(
        "15 2 * * *",
        "Australia/Lord_Howe",
        datetime(2026, 10, 3, tzinfo=UTC),
        datetime(2026, 10, 5, tzinfo=UTC),
    )
    assert fires[0] == "2026-10-04T02:30:00+11:00"


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("", "empty"),
        ("* * * *", "has 4 fields"),
        ("0 9 * * * *", "has 6 fields"),
        ("61 * * * *", "invalid cron expression"),
        ("0 0 30 2 *", "never matches"),
        ("@sometimes", "unknown cron macro"),
        # croniter draws R anew each time it parses the expression: the fires would move each tick.
        ("0 0 * * r", "R \\(a random value\\)"),
        ("R(1-10)/2 * * * *", "R \\(a random value\\)"),
        ("0 H * * *", "H \\(a hashed one\\)"),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expression: str, problem: str) -> None:
    with pytest.raises(CronError, match=problem):
        validate_expression(expression)


def test_unknown_zone_is_refused() -> None:
    with pytest.raises(CronError, match="unknown time zone 'Mars/Olympus'"):
        CronSchedule("0 9 * * *", "Mars/Olympus")


def test_naive_reference_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        CronSchedule("0 9 * * *", "UTC").next_after(datetime(2026, 1, 1))


# Properties

DST_ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "UTC",
]
minute_field = st.sampled_from(["0", "15", "30", "45", "*/15", "*/7", "0,30", "5-10"])
hour_field = st.sampled_from(["*", "0", "1", "2", "3", "*/2", "1-3", "9"])
expressions = st.builds(lambda m, h: f"{m} {h} * * *", minute_field, hour_field)
starts = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=150, deadline=None)
@given(expression=expressions, zone=st.sampled_from(DST_ZONES), start=starts)
def test_fires_are_strictly_increasing_and_each_wall_time_fires_once(
    expression: str, zone: str, start: datetime
) -> None:
    cron = CronSchedule(expression, zone)
    fires = list(cron.between(start, start + timedelta(days=3)))
    assert all(a < b for a, b in itertools.pairwise(fires))
    walls = [cron.local(f).replace(tzinfo=None) for f in fires]
    assert len(walls) == len(set(walls)), "a wall-clock time fired twice"


@settings(max_examples=150, deadline=None)
@given(expression=expressions, zone=st.sampled_from(DST_ZONES), start=starts)
def test_every_fire_matches_cron_or_ends_a_gap_and_none_is_skipped(
    expression: str, zone: str, start: datetime
) -> None:
    # Compare with the wall times croniter matches: each matching wall time that exists fires
    # exactly at that time; one that does not exist fires at the end of its gap.
    cron = CronSchedule(expression, zone)
    tz = ZoneInfo(zone)
    end = start + timedelta(days=2)
    fires = set(cron.between(start, end))
    local_start = start.astimezone(tz).replace(tzinfo=None)
    it = croniter(expression, local_start)
    while True:
        wall = it.get_next(datetime)
        if wall > (end.astimezone(tz).replace(tzinfo=None) - timedelta(hours=3)):
            break
        first = wall.replace(tzinfo=tz, fold=0)
        exists = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall
        if exists and first.astimezone(UTC) > start:
            assert first.astimezone(UTC) in fires, f"{wall} ({zone}) did not fire"
        elif not exists:
            after = [f for f in fires if f > first.replace(fold=1).astimezone(UTC)]
            assert after, f"skipped wall time {wall} ({zone}) never fired"


@settings(max_examples=100, deadline=None)
@given(expression=expressions, zone=st.sampled_from(DST_ZONES), start=starts)
def test_resuming_from_any_fire_continues_the_same_sequence(
    expression: str, zone: str, start: datetime
) -> None:
    cron = CronSchedule(expression, zone)
    fires = list(cron.between(start, start + timedelta(days=2)))
    for i, fire in enumerate(fires[:-1]):
        assert cron.next_after(fire) == fires[i + 1]
