"""Recurring patterns a user would recognise: a daily deploy, a weekly report, a morning peak."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from proactive.analytics.patterns import metric_peaks, recurring_events

NOW = datetime(2024, 1, 15, 12, 0, tzinfo=UTC).timestamp()


def _week_of_deploys_and_logins(seed: int = 0) -> list[tuple[float, str]]:
    """Deploys near 14:00 UTC on 5 of the last 7 days; 40 logins a day at uniformly random times."""
    rng = np.random.default_rng(seed)
    events: list[tuple[float, str]] = []
    for days_ago in range(1, 8):
        midnight = NOW - 12 * 3600 - days_ago * 86_400
        if days_ago <= 5:
            events.append((midnight + 14 * 3600 + float(rng.uniform(-900, 900)), "deploy"))
        events.extend((midnight + float(t), "login") for t in rng.uniform(0, 86_400, 40))
    return events


def test_a_daily_deploy_is_found_and_uniform_logins_are_not() -> None:
    patterns = recurring_events(_week_of_deploys_and_logins(), now=NOW)

    assert [(p.subject, p.hour_of_day, p.day_of_week) for p in patterns] == [("deploy", 14, None)]
    deploy = patterns[0]
    assert (deploy.kind, deploy.occurrences, deploy.days_observed) == ("recurring_event", 5, 7)
    assert deploy.description == "deploy happens around 14:00 UTC on 5 of the last 7 days"
    assert 0.6 < deploy.confidence <= 5 / 7


@pytest.mark.parametrize("seed", range(5))
def test_uniform_events_never_make_a_pattern(seed: int) -> None:
    rng = np.random.default_rng(seed)
    events = [(NOW - float(t), "login") for t in rng.uniform(0, 7 * 86_400, 2_000)]
    events += [(NOW - float(t), "alert") for t in rng.uniform(0, 7 * 86_400, 7)]

    assert recurring_events(events, now=NOW) == []


@pytest.mark.parametrize(("min_occurrences", "found"), [(3, True), (5, True), (6, False)])
def test_min_occurrences_is_honoured(min_occurrences: int, found: bool) -> None:
    patterns = recurring_events(_week_of_deploys_and_logins(), now=NOW, min_occurrences=min_occurrences)

    assert bool(patterns) is found


def test_events_outside_the_window_are_ignored() -> None:
    patterns = recurring_events(_week_of_deploys_and_logins(), now=NOW, time_window_hours=48)

    assert patterns == []


@pytest.mark.parametrize(("zone", "hour"), [("UTC", 14), ("America/New_York", 9), ("Europe/Paris", 15)])
def test_the_time_zone_shifts_the_hour(zone: str, hour: int) -> None:
    patterns = recurring_events(_week_of_deploys_and_logins(), now=NOW, timezone=zone)

    assert [p.hour_of_day for p in patterns] == [hour]
    assert f"{hour:02d}:00 {zone}" in patterns[0].description


def test_a_local_hour_is_kept_across_a_daylight_saving_change() -> None:
    # 09:00 in New York every day from 6 to 12 March 2024; clocks sprang forward on 10 March,
    # so the UTC hour moves from 14 to 13 midweek.
    zone = ZoneInfo("America/New_York")
    days = [datetime(2024, 3, day, 9, 0, tzinfo=zone) for day in range(6, 13)]
    events = [(d.timestamp(), "standup") for d in days]
    now = datetime(2024, 3, 12, 18, 0, tzinfo=zone).timestamp()

    local = recurring_events(events, now=now, timezone="America/New_York")
    in_utc = recurring_events(events, now=now)

    assert [(p.hour_of_day, p.occurrences, p.days_observed) for p in local] == [(9, 7, 7)]
    assert all(p.occurrences < 7 for p in in_utc)


def test_a_weekly_event_is_reported_on_its_weekday() -> None:
    mondays = [datetime(2024, 1, 15, 8, 5, tzinfo=UTC) - timedelta(weeks=w) for w in range(4)]
    events = [(d.timestamp(), "report") for d in mondays]
    rng = np.random.default_rng(1)
    events += [(NOW - float(t), "login") for t in rng.uniform(0, 28 * 86_400, 500)]

    patterns = recurring_events(events, now=NOW, time_window_hours=28 * 24)

    assert [(p.subject, p.day_of_week, p.hour_of_day, p.occurrences) for p in patterns] == [
        ("report", 0, 8, 4)
    ]
    assert patterns[0].description == "report happens around 08:00 UTC on Mondays in 4 of the last 4 weeks"


def test_among_ten_thousand_random_events_only_the_daily_deploys_are_a_pattern() -> None:
    # How long this takes is measured by `make bench` (patterns), not asserted here.
    rng = np.random.default_rng(2)
    events = [
        (NOW - float(t), f"type-{k}")
        for t, k in zip(rng.uniform(0, 7 * 86_400, 10_000), rng.integers(0, 30, 10_000), strict=True)
    ]
    events += _week_of_deploys_and_logins()

    patterns = recurring_events(events, now=NOW, timezone="Europe/Paris")

    assert [p.subject for p in patterns] == ["deploy"]


def test_a_metric_peaking_at_nine_every_morning_is_found() -> None:
    rng = np.random.default_rng(3)
    times = np.arange(NOW - 7 * 86_400, NOW, 300.0)
    hour = (times % 86_400) / 3600
    values = 40 + rng.normal(0, 2, times.size) + 30 * np.exp(-((hour - 9.5) ** 2) / 0.3)

    patterns = metric_peaks(times, values, now=NOW, subject="cpu_usage")

    assert [(p.kind, p.subject, p.hour_of_day, p.day_of_week) for p in patterns] == [
        ("metric_peak", "cpu_usage", 9, None)
    ]
    assert patterns[0].occurrences == patterns[0].days_observed == 7
    assert patterns[0].description == "cpu_usage peaks around 09:00 UTC on 7 of the last 7 days"


def test_metric_peaks_follow_the_time_zone() -> None:
    times = np.arange(NOW - 7 * 86_400, NOW, 300.0)
    values = np.where((times % 86_400) // 3600 == 9, 90.0, 10.0)

    patterns = metric_peaks(times, values, now=NOW, subject="cpu_usage", timezone="Asia/Tokyo")

    assert [p.hour_of_day for p in patterns] == [18]


@pytest.mark.parametrize("kind", ["noise", "flat"])
def test_a_metric_without_a_daily_peak_has_no_pattern(kind: str) -> None:
    times = np.arange(NOW - 7 * 86_400, NOW, 300.0)
    values = np.random.default_rng(4).normal(0, 1, times.size) if kind == "noise" else np.zeros(times.size)

    assert metric_peaks(times, values, now=NOW, subject="cpu_usage") == []


def test_metric_peaks_honour_min_occurrences() -> None:
    times = np.arange(NOW - 7 * 86_400, NOW, 300.0)
    values = np.where((times % 86_400) // 3600 == 9, 90.0, 10.0)

    assert metric_peaks(times, values, now=NOW, subject="cpu_usage", min_occurrences=8) == []
    assert len(metric_peaks(times, values, now=NOW, subject="cpu_usage", min_occurrences=7)) == 1


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        recurring_events([], now=NOW, timezone="Mars/Olympus_Mons")
