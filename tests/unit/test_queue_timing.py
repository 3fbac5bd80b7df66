"""When queued work becomes visible: just before its time, so the worker is waiting when it comes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from proactive.queue import LEAD_SECONDS, delay_until
from proactive.runs.attempts import MAX_EARLY_WAIT

NOW = datetime(2026, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.mark.parametrize("seconds_ahead", [1.2, 2.0, 7.5, 30.0, 64.999, 65.0, 600.3])
def test_work_becomes_visible_ahead_of_its_time_by_the_lead_and_less_than_a_second_more(
    seconds_ahead: float,
) -> None:
    due = NOW + timedelta(seconds=seconds_ahead)
    visible = NOW + timedelta(seconds=delay_until(due, NOW))
    ahead = (due - visible).total_seconds()
    assert LEAD_SECONDS <= ahead < LEAD_SECONDS + 1
    # ... and the worker waits that long itself, rather than starting early
    assert timedelta(seconds=ahead) <= MAX_EARLY_WAIT


@pytest.mark.parametrize("seconds_ahead", [-30.0, 0.0, 0.5, 1.0])
def test_work_due_now_or_past_is_visible_at_once(seconds_ahead: float) -> None:
    assert delay_until(NOW + timedelta(seconds=seconds_ahead), NOW) == 0
