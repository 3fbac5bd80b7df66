"""What a monitor check concludes: the condition, the firing edge and cooldown, failing and
recovering, and what the check and the monitor record, decided on values alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from proactive import events
from proactive.clock import iso
from proactive.ids import occurrence_run_id
from proactive.models.monitors import MonitorRecord
from proactive.monitors.verdict import MAX_VALUE_BYTES, change_pct, checked, failed, fires

NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
THRESHOLD = 3


def monitor(**fields: Any) -> MonitorRecord:
    return MonitorRecord.model_validate(
        {
            "id": "mon-1",
            "name": "Price",
            "agent_id": "agent-1",
            "workspace_id": "ws-1",
            "source": {"type": "metric"},
            "check_interval": 300,
            "is_active": True,
            "created_at": NOW,
            "updated_at": NOW,
            "condition": "value > 100",
            "action": "Price is {value} (was {previous})",
            "state": "ok",
            "condition_met": False,
            "last_value": 90,
            "consecutive_failures": 0,
            "cooldown": None,
            "last_triggered": None,
            **fields,
        }
    )


def test_the_monitor_fires_on_the_false_to_true_edge_with_the_rendered_action() -> None:
    verdict = checked(monitor(), "chk-1", 120, {}, NOW, THRESHOLD)
    assert verdict.error is None
    assert verdict.fire is not None
    assert verdict.fire.run_id == occurrence_run_id("check#chk-1")
    assert verdict.fire.task == "Price is 120 (was 90)"
    assert verdict.fire.payload == {"value": 120, "previous": 90, "change_pct": 33.333333}
    assert verdict.add == {"trigger_count": 1}
    assert verdict.check == {
        "status": "ok",
        "checked_at": iso(NOW),
        "value": 120,
        "values": None,
        "previous": 90,
        "change_pct": 33.333333,
        "condition_met": True,
        "fired": True,
        "run_id": verdict.fire.run_id,
    }
    assert verdict.monitor == {
        "last_check": iso(NOW),
        "last_value": 120,
        "condition_met": True,
        "state": "ok",
        "consecutive_failures": 0,
        "last_error": None,
        "last_triggered": iso(NOW),
    }


def test_a_condition_that_stays_true_does_not_fire_again() -> None:
    verdict = checked(monitor(condition_met=True, last_value=110), "chk-2", 120, {}, NOW, THRESHOLD)
    assert verdict.fire is None
    assert verdict.add is None
    assert verdict.check["condition_met"] is True
    assert verdict.check["fired"] is False
    assert verdict.check["run_id"] is None
    assert "last_triggered" not in verdict.monitor


def test_a_condition_that_stays_true_fires_again_once_the_cooldown_is_over() -> None:
    last = iso(NOW - timedelta(seconds=60))
    held = monitor(condition_met=True, cooldown=60, last_triggered=last)
    assert fires(held, True, NOW)
    assert not fires(held, True, NOW - timedelta(seconds=1))
    assert not fires(held, False, NOW)
    assert not fires(monitor(condition_met=True, cooldown=None, last_triggered=last), True, NOW)
    assert checked(held, "chk-3", 120, {}, NOW, THRESHOLD).fire is not None


def test_a_false_condition_records_the_values_and_fires_nothing() -> None:
    verdict = checked(monitor(condition="price > 100"), "chk-4", 80, {"price": 80}, NOW, THRESHOLD)
    assert verdict.fire is None
    assert verdict.check["condition_met"] is False
    assert verdict.check["values"] == {"price": 80}
    assert verdict.monitor["condition_met"] is False


def test_a_good_check_of_a_failing_monitor_publishes_recovered() -> None:
    verdict = checked(monitor(state="failing", consecutive_failures=4), "chk-5", 50, {}, NOW, THRESHOLD)
    assert verdict.monitor["state"] == "ok"
    assert verdict.monitor["consecutive_failures"] == 0
    assert events.pending(events.MONITOR_RECOVERED).items() <= verdict.monitor.items()
    quiet = checked(monitor(), "chk-6", 50, {}, NOW, THRESHOLD)
    assert not events.pending(events.MONITOR_RECOVERED).keys() & quiet.monitor.keys()


def test_failures_make_the_monitor_failing_at_the_threshold_publishing_it_once() -> None:
    first = failed(monitor(state="ok", consecutive_failures=0), "timed out", NOW, THRESHOLD)
    assert first.check == {"status": "error", "checked_at": iso(NOW), "error": "timed out"}
    assert first.monitor == {
        "last_check": iso(NOW),
        "consecutive_failures": 1,
        "last_error": "timed out",
        "state": "ok",
    }
    assert first.error == "timed out"
    assert first.fire is None
    third = failed(monitor(state="ok", consecutive_failures=2), "timed out", NOW, THRESHOLD)
    assert third.monitor["state"] == "failing"
    assert events.pending(events.MONITOR_FAILING).items() <= third.monitor.items()
    fourth = failed(monitor(state="failing", consecutive_failures=3), "timed out", NOW, THRESHOLD)
    assert fourth.monitor["state"] == "failing"
    assert not events.pending(events.MONITOR_FAILING).keys() & fourth.monitor.keys()


def test_a_long_error_is_kept_to_its_first_2000_characters() -> None:
    verdict = failed(monitor(), "x" * 5000, NOW, THRESHOLD)
    assert verdict.check["error"] == "x" * 2000
    assert verdict.monitor["last_error"] == "x" * 2000
    assert verdict.error == "x" * 5000


def test_a_condition_that_cannot_be_evaluated_or_an_action_that_cannot_be_filled_fails_the_check() -> None:
    bad_condition = checked(monitor(condition="price > 1"), "chk-7", 5, {}, NOW, THRESHOLD)
    assert bad_condition.check["status"] == "error"
    assert bad_condition.monitor["consecutive_failures"] == 1
    bad_action = checked(monitor(action="Now {missing}"), "chk-8", 120, {}, NOW, THRESHOLD)
    assert bad_action.check["status"] == "error"
    assert bad_action.error is not None
    assert bad_action.error.startswith("action: ")
    assert bad_action.fire is None


def test_a_value_too_large_to_keep_fails_the_check_before_anything_fires() -> None:
    verdict = checked(monitor(condition="true"), "chk-9", "x" * (MAX_VALUE_BYTES + 1), {}, NOW, THRESHOLD)
    assert verdict.check["status"] == "error"
    assert verdict.error is not None
    assert "a check keeps at most" in verdict.error
    assert verdict.fire is None


def test_change_pct_only_between_numbers_from_a_nonzero_previous() -> None:
    assert change_pct(110, 100) == 10.0
    assert change_pct(90, -100) == 190.0
    assert change_pct(5, 0) is None
    assert change_pct(True, 1) is None
    assert change_pct("5", 1) is None
    assert change_pct(1e308, -1e-308) is None
