"""Routines a user would recognise: a weekday report at 09:00 New York time, two daily habits,
a twice-weekly job, and nothing at all from random activity."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from proactive.analytics.routines import (
    Routine,
    circular_mean,
    circular_spread,
    rayleigh_p_value,
    recurring_times,
)

# A Saturday; the 35 days before it cover the change to daylight saving time in New York (10 March).
NOW = datetime(2024, 3, 23, 16, 0, tzinfo=UTC)
FIRST_DAY = date(2024, 2, 18)
NEW_YORK = ZoneInfo("America/New_York")


def _daily(
    zone: str,
    hour: int,
    minute: int,
    offsets: Sequence[int],
    keep: Callable[[date], bool] = lambda _day: True,
) -> list[datetime]:
    """One activity a kept day at hour:minute local time plus that day's offset in minutes."""
    tz = ZoneInfo(zone)
    instants = []
    for day_index in range(35):
        day = FIRST_DAY + timedelta(days=day_index)
        if keep(day):
            local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
            instants.append((local + timedelta(minutes=offsets[day_index])).astimezone(UTC))
    return instants


def _offsets(seed: int, spread: int = 10) -> list[int]:
    return np.random.default_rng(seed).integers(-spread, spread + 1, 35).tolist()


SKIPPED = {date(2024, 2, 22), date(2024, 3, 13)}


def _weekday_reports() -> list[datetime]:
    """09:00 +/- 10 minutes New York time on 23 of the 25 weekdays before NOW."""
    return _daily("America/New_York", 9, 0, _offsets(1), lambda d: d.weekday() < 5 and d not in SKIPPED)


def _only(routines: list[Routine]) -> Routine:
    assert len(routines) == 1, routines
    return routines[0]


def test_a_weekday_routine_in_new_york_is_found_across_the_dst_change() -> None:
    instants = _weekday_reports()

    routine = _only(recurring_times(instants, "America/New_York", NOW))

    assert (routine.cron, routine.zone, routine.minute_of_day) == ("0 9 * * 1-5", "America/New_York", 540)
    assert routine.weekdays == (0, 1, 2, 3, 4)
    assert routine.days_text == "weekdays"
    assert (routine.days_seen, routine.days_expected, routine.matched_fires, routine.fires) == (
        23,
        25,
        23,
        25,
    )
    assert (routine.occurrences, routine.matched_activities) == (23, 23)
    assert routine.precision == pytest.approx(23 / 25)
    assert routine.recall == 1.0
    assert routine.rayleigh_p < 1e-6
    assert routine.spread_minutes < 10
    assert 0.6 < routine.confidence < routine.precision
    assert routine.evidence == tuple(range(23))


def test_the_local_reading_is_what_makes_the_routine_hold() -> None:
    instants = _weekday_reports()
    routine = _only(recurring_times(instants, "America/New_York", NOW))

    # The evidence lies on both sides of the change, within ten minutes of 09:00 in New York.
    evidence = [instants[i].astimezone(NEW_YORK) for i in routine.evidence]
    assert {t.utcoffset() for t in evidence} == {timedelta(hours=-5), timedelta(hours=-4)}
    assert all("08:50" <= t.strftime("%H:%M") <= "09:10" for t in evidence)

    # Read in UTC, no single time catches the habit: at best the weeks before the change.
    in_utc = recurring_times(instants, "UTC", NOW)
    assert all(r.precision < 0.7 and r.matched_activities <= 15 for r in in_utc)


def test_the_sentence_has_the_numbers() -> None:
    instants = _weekday_reports()
    local = sorted(t.astimezone(NEW_YORK).strftime("%H:%M") for t in instants)

    routine = _only(recurring_times(instants, "America/New_York", NOW))

    assert (routine.earliest, routine.latest) == (local[0], local[-1])
    assert routine.describe("report-agent") == (
        f"You ran report-agent on 23 of the last 25 weekdays between {local[0]} and {local[-1]} New York time"
    )


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("count", [35, 300, 2_000])
def test_uniformly_random_times_make_no_routine(seed: int, count: int) -> None:
    rng = np.random.default_rng(seed)
    instants = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, 35 * 86_400, count)]

    assert recurring_times(instants, "Europe/Paris", NOW) == []


def test_steady_activity_through_working_hours_is_not_a_routine() -> None:
    rng = np.random.default_rng(7)
    paris = ZoneInfo("Europe/Paris")
    instants = []
    for day_index in range(35):
        day = FIRST_DAY + timedelta(days=day_index)
        if day.weekday() < 5:
            opening = datetime(day.year, day.month, day.day, 9, tzinfo=paris)
            instants += [opening + timedelta(minutes=float(m)) for m in rng.uniform(0, 480, 20)]

    assert recurring_times(instants, "Europe/Paris", NOW) == []


def test_two_times_a_day_make_two_routines() -> None:
    instants = _daily("Europe/Paris", 9, 0, _offsets(2)) + _daily("Europe/Paris", 17, 30, _offsets(3))

    routines = recurring_times(instants, "Europe/Paris", NOW)

    assert sorted(r.cron for r in routines) == ["0 9 * * *", "30 17 * * *"]
    for routine in routines:
        assert routine.days_text == "every day"
        assert routine.precision > 0.9
        assert routine.recall == 1.0
        assert " of the last 35 days between " in routine.describe("backup")
    # Between them the routines account for every activity in the window (the last, at 17:30
    # today, is still to come).
    assert sorted(i for r in routines for i in r.evidence) == [i for i, t in enumerate(instants) if t <= NOW]


def test_a_routine_amid_random_activity_is_still_found() -> None:
    rng = np.random.default_rng(4)
    routine_times = _daily("Europe/Paris", 7, 15, _offsets(5, spread=8), lambda d: d.weekday() < 5)
    noise = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, 35 * 86_400, 200)]

    routine = _only(recurring_times(routine_times + noise, "Europe/Paris", NOW))

    assert routine.cron == "15 7 * * 1-5"
    assert routine.precision == 1.0
    assert set(range(len(routine_times))) <= set(routine.evidence)


def test_chosen_weekdays_are_named() -> None:
    instants = _daily("UTC", 7, 30, _offsets(6, spread=5), lambda d: d.weekday() in (0, 3))

    routine = _only(recurring_times(instants, "UTC", NOW))

    assert (routine.cron, routine.weekdays, routine.days_text) == (
        "30 7 * * 1,4",
        (0, 3),
        "Mondays and Thursdays",
    )
    assert routine.describe("sync").startswith(
        "You ran sync on 10 of the last 10 Mondays and Thursdays between "
    )
    assert routine.describe("sync").endswith(" UTC")


def test_a_routine_around_midnight_is_read_round_the_clock() -> None:
    instants = _daily("Asia/Tokyo", 23, 58, _offsets(8, spread=5))

    routine = _only(recurring_times(instants, "Asia/Tokyo", NOW))

    assert routine.cron == "0 0 * * *"
    assert (routine.precision, routine.recall) == (1.0, 1.0)
    assert routine.earliest.startswith("23:5")
    assert routine.latest.startswith("00:0")


def test_fewer_than_min_occurrences_make_no_routine() -> None:
    mondays = _daily("UTC", 6, 0, [0] * 35, lambda d: d.weekday() == 0)

    assert _only(recurring_times(mondays, "UTC", NOW)).cron == "0 6 * * 1"
    assert recurring_times(mondays, "UTC", NOW, min_occurrences=6) == []
    assert recurring_times(mondays[:4], "UTC", NOW, min_occurrences=4) == []


def test_instants_outside_the_window_are_ignored() -> None:
    assert recurring_times(_weekday_reports(), "America/New_York", NOW, window_days=3) == []


def test_circular_statistics_wrap_at_midnight() -> None:
    assert circular_mean([1430, 10]) == pytest.approx(0, abs=1e-9)
    assert circular_spread([1430, 10]) == pytest.approx(10, rel=0.01)
    assert rayleigh_p_value([540 + d for d in (-5, -2, 0, 3, 4)]) < 0.01
    assert rayleigh_p_value(np.arange(0, 1440, 60)) > 0.99


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        recurring_times([], "Mars/Olympus", NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        recurring_times([datetime(2024, 3, 1, 9)], "UTC", NOW)
