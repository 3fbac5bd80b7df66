"""Associations a user would recognise: a triage run after high-severity alerts, and none at all
between events and runs that have nothing to do with each other."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from proactive.analytics.associations import (
    Association,
    associations,
    binomial_tail,
    duration_text,
    wilson_lower_bound,
)

NOW = datetime(2024, 3, 1, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)
Event = tuple[datetime, str, Mapping[str, Any]]


def _alerts_and_triage() -> tuple[list[Event], list[datetime]]:
    """80 alerts nine hours apart, alternately high and low. A run follows 36 of the 40 high ones
    2 to 5 minutes later and 2 of the low ones; unrelated runs come four and a half hours after
    every alert. `region` says nothing about the runs; `id` is different for every alert."""
    rng = np.random.default_rng(0)
    events: list[Event] = []
    runs: list[datetime] = []
    for i in range(80):
        at = NOW - timedelta(days=31) + timedelta(hours=9 * i)
        high = i % 2 == 0
        payload = {"severity": "high" if high else "low", "region": ["eu", "us"][i % 4 // 2], "id": f"a{i}"}
        events.append((at, "alert", payload))
        if (high and i // 2 % 10 != 9) or i in (1, 3):
            runs.append(at + timedelta(seconds=float(rng.uniform(120, 300))))
        runs.append(at + timedelta(hours=4.5))
    return events, runs


def _only(found: list[Association]) -> Association:
    assert len(found) == 1, found
    return found[0]


def test_a_run_after_high_severity_alerts_is_found_with_its_filter() -> None:
    events, runs = _alerts_and_triage()

    association = _only(associations(events, runs, max_delay=FIVE_MINUTES, now=NOW))

    assert (association.event_type, association.events, association.followed) == ("alert", 80, 38)
    assert association.confidence < association.rate == pytest.approx(38 / 80)
    assert association.lift > 10
    assert association.p_value < 1e-10
    assert timedelta(minutes=2) <= association.median_delay <= FIVE_MINUTES
    assert association.evidence == tuple(
        i for i in range(80) if (i % 2 == 0 and i // 2 % 10 != 9) or i in (1, 3)
    )

    found = association.filter
    assert found is not None
    assert (found.field, found.value, found.text) == ("severity", "high", 'severity = "high"')
    assert (found.events, found.followed, found.other_events, found.other_followed) == (40, 36, 40, 2)
    assert found.rate == pytest.approx(0.9)
    assert 0.7 < found.confidence < found.rate
    assert found.lift > 1
    assert found.evidence == tuple(i for i in range(0, 80, 2) if i // 2 % 10 != 9)


def test_the_sentence_has_the_numbers() -> None:
    events, runs = _alerts_and_triage()

    association = _only(associations(events, runs, max_delay=FIVE_MINUTES, now=NOW))

    minutes = duration_text(association.median_delay)
    assert association.describe("triage-agent") == (
        'You ran triage-agent within 5 minutes after 36 of the last 40 alert events with severity = "high" '
        f"(and 2 of the other 40); the run came a median of {minutes} after the event"
    )


def test_an_association_without_a_separating_field_has_no_filter() -> None:
    events = [(NOW - timedelta(hours=10 * i + 5), "deploy", {"env": "prod"}) for i in range(20)]
    runs = [at + timedelta(minutes=1) for at, _, _ in events]

    association = _only(associations(events, runs, max_delay=FIVE_MINUTES, now=NOW))

    assert association.filter is None
    assert (association.followed, association.events, association.rate) == (20, 20, 1.0)
    assert association.describe("smoke-test") == (
        "You ran smoke-test within 5 minutes after 20 of the last 20 deploy events; "
        "the run came a median of 1 minute after the event"
    )


def test_a_filter_alone_can_carry_an_association() -> None:
    """Runs are so frequent that the type as a whole is followed barely more than by chance, but
    every critical event is."""
    rng = np.random.default_rng(3)
    span = 30 * 86_400
    events: list[Event] = [
        (NOW - timedelta(seconds=float(s)), "alert", {"level": "info"}) for s in rng.uniform(600, span, 200)
    ]
    critical = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(600, span, 20)]
    events += [(at, "alert", {"level": "critical"}) for at in critical]
    runs = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, span, 3_000)]
    runs += [at + timedelta(minutes=1) for at in critical]

    association = _only(associations(events, runs, max_delay=FIVE_MINUTES, now=NOW))

    assert association.lift < 2
    assert association.filter is not None
    assert (association.filter.text, association.filter.followed, association.filter.events) == (
        'level = "critical"',
        20,
        20,
    )
    assert association.filter.lift > 2


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("run_count", [300, 5_000])
def test_independent_events_and_runs_make_no_association(seed: int, run_count: int) -> None:
    rng = np.random.default_rng(seed)
    span = 30 * 86_400
    events: list[Event] = [
        (NOW - timedelta(seconds=float(s)), "alert", {"severity": ["high", "low"][int(k)]})
        for s, k in zip(rng.uniform(600, span, 200), rng.integers(0, 2, 200), strict=True)
    ]
    runs = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, span, run_count)]

    assert associations(events, runs, max_delay=FIVE_MINUTES, now=NOW) == []


def test_lift_is_near_one_for_independent_events_and_runs() -> None:
    """Below the floor of 2 that an association needs, whatever the followed rate."""
    rng = np.random.default_rng(11)
    span = 30 * 86_400
    events: list[Event] = [
        (NOW - timedelta(seconds=float(s)), "tick", {}) for s in rng.uniform(600, span, 400)
    ]
    runs = [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, span, 5_000)]

    loose = associations(events, runs, max_delay=FIVE_MINUTES, now=NOW, min_lift=0, significance=1.01)

    assert 0.8 < _only(loose).lift < 1.25
    assert 0.3 < _only(loose).chance < 0.6


def test_events_whose_outcome_is_not_known_yet_are_left_out() -> None:
    events: list[Event] = [(NOW - timedelta(hours=i + 1), "alert", {}) for i in range(6)]
    events.append((NOW - timedelta(minutes=1), "alert", {}))
    runs = [at + timedelta(minutes=2) for at, _, _ in events[:6]]

    association = _only(associations(events, runs, max_delay=FIVE_MINUTES, now=NOW))

    assert (association.events, association.followed) == (6, 6)


def test_too_few_followed_events_make_no_association() -> None:
    events: list[Event] = [(NOW - timedelta(days=i + 1), "alert", {}) for i in range(4)]
    runs = [at + timedelta(minutes=2) for at, _, _ in events]

    assert associations(events, runs, max_delay=FIVE_MINUTES, now=NOW) == []
    assert len(associations(events, runs, max_delay=FIVE_MINUTES, now=NOW, min_support=4)) == 1


def test_the_statistics() -> None:
    assert wilson_lower_bound(9, 10) == pytest.approx(0.5958, abs=1e-4)
    assert wilson_lower_bound(0, 0) == 0.0
    assert binomial_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert binomial_tail(0, 10, 0.1) == 1.0
    assert binomial_tail(1, 2, 0.5) == pytest.approx(0.75)
    assert [duration_text(timedelta(seconds=s)) for s in (1, 90, 300, 5400, 7200, 3 * 86_400)] == [
        "1 second",
        "90 seconds",
        "5 minutes",
        "90 minutes",
        "2 hours",
        "3 days",
    ]


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="max_delay"):
        associations([], [], max_delay=timedelta(0), now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        associations([(datetime(2024, 2, 1), "alert", {})], [], max_delay=FIVE_MINUTES, now=NOW)
