"""The catch-up rule: after downtime, which of a schedule's due occurrences are queued and which
are recorded as missed, by policy, in bounded chunks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proactive.lib.cron import CronSchedule
from proactive.schedules.catchup import plan

HOUR = timedelta(hours=1)
NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
END = NOW + timedelta(minutes=1)  # the end of the current window
CUTOFF = NOW - timedelta(minutes=10)  # before this, an occurrence was missed


def hourly(after: datetime) -> datetime | None:
    return after + HOUR


def at(hours_ago: int) -> datetime:
    return NOW - hours_ago * HOUR


def test_on_time_occurrences_are_queued_whatever_the_policy() -> None:
    for policy in ("all", "latest", "skip"):
        planned = plan(NOW, hourly, end=END, cutoff=CUTOFF, policy=policy, limit=50)
        assert planned.queue == [NOW]
        assert planned.miss == []
        assert planned.next_fire == NOW + HOUR


def test_nothing_due_plans_nothing_and_keeps_the_next_fire() -> None:
    planned = plan(NOW + HOUR, hourly, end=END, cutoff=CUTOFF, policy="latest", limit=50)
    assert (planned.queue, planned.miss, planned.next_fire) == ([], [], NOW + HOUR)


def test_all_queues_every_missed_occurrence_oldest_first_ahead_of_those_on_time() -> None:
    planned = plan(at(3), hourly, end=END, cutoff=CUTOFF, policy="all", limit=50)
    assert planned.queue == [at(3), at(2), at(1), NOW]
    assert planned.miss == []


def test_latest_queues_only_the_latest_missed_and_records_the_others_as_missed() -> None:
    planned = plan(at(3), hourly, end=END, cutoff=CUTOFF, policy="latest", limit=50)
    assert planned.queue == [at(1), NOW]
    assert planned.miss == [at(3), at(2)]
    assert planned.next_fire == NOW + HOUR


def test_skip_records_every_missed_occurrence_and_runs_none() -> None:
    planned = plan(at(3), hourly, end=END, cutoff=CUTOFF, policy="skip", limit=50)
    assert planned.queue == [NOW]
    assert planned.miss == [at(3), at(2), at(1)]


@pytest.mark.parametrize("policy", ["all", "latest", "skip"])
def test_at_most_limit_occurrences_are_planned_at_once_and_the_next_chunk_starts_after(policy: str) -> None:
    planned = plan(at(10), hourly, end=END, cutoff=CUTOFF, policy=policy, limit=4)
    assert len(planned.queue) + len(planned.miss) == 4
    assert planned.next_fire == at(6)


def test_latest_records_a_chunk_of_missed_occurrences_as_missed_until_the_latest_is_known() -> None:
    # Ten hours down, four at a time: the first chunks hold missed occurrences only, and more
    # follow them, so none of theirs is the latest.
    first = plan(at(10), hourly, end=END, cutoff=CUTOFF, policy="latest", limit=4)
    assert first.queue == []
    assert first.miss == [at(10), at(9), at(8), at(7)]
    second = plan(at(6), hourly, end=END, cutoff=CUTOFF, policy="latest", limit=4)
    assert second.queue == []
    assert second.miss == [at(6), at(5), at(4), at(3)]
    # The last chunk reaches the cutoff: its latest missed occurrence runs.
    last = plan(at(2), hourly, end=END, cutoff=CUTOFF, policy="latest", limit=4)
    assert last.queue == [at(1), NOW]
    assert last.miss == [at(2)]
    assert last.next_fire == NOW + HOUR


def test_latest_knows_the_latest_when_the_chunk_ends_exactly_at_the_cutoff() -> None:
    planned = plan(at(2), hourly, end=END, cutoff=NOW, policy="latest", limit=2)
    # The chunk (2 h and 1 h ago) is followed by `now`, which is not before the cutoff.
    assert planned.queue == [at(1)]
    assert planned.miss == [at(2)]
    assert planned.next_fire == NOW


def test_a_schedule_that_never_fires_again_ends_with_no_next_fire() -> None:
    once = {at(2): None}
    planned = plan(at(2), once.get, end=END, cutoff=CUTOFF, policy="latest", limit=50)
    assert planned.queue == [at(2)]
    assert planned.miss == []
    assert planned.next_fire is None


def test_it_follows_a_real_cron() -> None:
    cron = CronSchedule("0 * * * *", "UTC")
    planned = plan(at(3), cron.next_after, end=END, cutoff=CUTOFF, policy="latest", limit=50)
    assert planned.queue == [at(1), NOW]
    assert planned.miss == [at(3), at(2)]
