"""The goal loop's settings, mode, status and predictions, through the API on moto: documented
defaults, partial updates at any depth, bounded values refused by name, rules normalised or
refused by index, concurrent updates that keep each other, and forecasts of posted series."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from proactive.analytics.forecast import METHODS
from proactive.clock import iso, parse_iso
from proactive.models.loop import ForecastMethod
from tests.integration.conftest import token

SETTINGS, MODE, STATUS = "/api/autonomous/settings", "/api/autonomous/mode", "/api/autonomous/status"
PREDICTIONS, METRICS = "/api/autonomous/predictions", "/api/autonomous/metrics"

DEFAULTS = {
    "forecasting": {
        "auto_analysis_enabled": True,
        "analysis_interval_minutes": 60,
        "forecaster": {"default_method": "ensemble"},
        "pattern_recognizer": {"min_occurrences": 3, "time_window_hours": 168},
        "goal_setter": {"auto_goal_setting": True, "max_active_goals": 10},
    },
    "executor": {"execution_interval_seconds": 60, "max_concurrent_goals": 3, "enable_learning": True},
    "agent": {"autonomous_mode": False, "goal_sync_interval_seconds": 30, "analysis_interval_minutes": 60},
    "rules": [],
    "forecast_horizon_hours": 24,
    "timezone": "UTC",
    "approval_timeout_minutes": 60,
    "impact_window_minutes": 60,
}


@pytest.fixture
def other(client: TestClient) -> Iterator[TestClient]:
    """A client whose token grants only ws-2 (the same app and table)."""
    with TestClient(client.app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token('ws-2')}"
        yield c


def put(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    resp = client.put(SETTINGS, json=body)
    assert resp.status_code == status, resp.text
    return dict(resp.json())


def get(client: TestClient, path: str, status: int = 200, **params: Any) -> dict[str, Any]:
    resp = client.get(path, params=params)
    assert resp.status_code == status, resp.text
    return dict(resp.json())


def configured(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: settings[k] for k in DEFAULTS}


def post_series(client: TestClient, name: str, stamps: list[datetime], values: list[float]) -> None:
    points = [
        {"metric_name": name, "value": v, "timestamp": iso(t)} for t, v in zip(stamps, values, strict=True)
    ]
    for offset in range(0, len(points), 1000):
        resp = client.post(METRICS, json={"metrics": points[offset : offset + 1000]})
        assert resp.status_code == 200, resp.text


# Settings


def test_the_forecasting_methods_offered_are_the_forecasters() -> None:
    assert set(get_args(ForecastMethod)) == {"ensemble", *METHODS}


def test_a_workspace_that_never_set_anything_sees_the_documented_defaults(client: TestClient) -> None:
    shown = get(client, SETTINGS)

    assert configured(shown) == DEFAULTS
    assert shown["workspace_id"] == "ws-1"
    assert (shown["version"], shown["next_analysis_at"], shown["last_analysis_at"]) == (0, None, None)


def test_a_partial_update_changes_only_the_fields_it_names(client: TestClient) -> None:
    # Given one nested field changed
    first = put(client, {"executor": {"max_concurrent_goals": 5}})

    # When another, in another block, is changed
    second = put(
        client,
        {"forecasting": {"pattern_recognizer": {"min_occurrences": 4}}, "timezone": "Europe/Paris"},
    )

    # Then both hold and everything else keeps its default
    expected = {
        **DEFAULTS,
        "executor": {**DEFAULTS["executor"], "max_concurrent_goals": 5},
        "forecasting": {
            **DEFAULTS["forecasting"],
            "pattern_recognizer": {"min_occurrences": 4, "time_window_hours": 168},
        },
        "timezone": "Europe/Paris",
    }
    assert configured(second) == expected
    assert configured(get(client, SETTINGS)) == expected
    assert (first["version"], second["version"]) == (1, 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"executor": {"max_concurrent_goals": 0}}, "executor.max_concurrent_goals"),
        ({"executor": {"max_concurrent_goals": 21}}, "executor.max_concurrent_goals"),
        ({"executor": {"max_concurrent_goals": "3"}}, "executor.max_concurrent_goals"),
        ({"executor": {"execution_interval_seconds": 30}}, "executor.execution_interval_seconds"),
        ({"executor": {"max_concurrent_goals": None}}, "executor.max_concurrent_goals"),
        ({"executor": {"parallelism": 2}}, "executor.parallelism"),
        (
            {"forecasting": {"goal_setter": {"max_active_goals": 101}}},
            "forecasting.goal_setter.max_active_goals",
        ),
        (
            {"forecasting": {"forecaster": {"default_method": "arima"}}},
            "forecasting.forecaster.default_method",
        ),
        (
            {"forecasting": {"pattern_recognizer": {"time_window_hours": 2}}},
            "forecasting.pattern_recognizer.time_window_hours",
        ),
        ({"agent": {"autonomous_mode": "yes"}}, "agent.autonomous_mode"),
        ({"agent": {"goal_sync_interval_seconds": 1}}, "agent.goal_sync_interval_seconds"),
        ({"forecast_horizon_hours": 169}, "forecast_horizon_hours"),
        ({"approval_timeout_minutes": 0}, "approval_timeout_minutes"),
        ({"impact_window_minutes": 1441}, "impact_window_minutes"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ],
)
def test_a_value_the_loop_cannot_honour_is_refused_by_name(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    answer = put(client, body, status=422)

    assert answer["field"] == field
    assert get(client, SETTINGS)["version"] == 0


def test_rules_are_stored_normalised_whether_sent_as_text_or_objects(client: TestClient) -> None:
    shown = put(
        client,
        {
            "rules": [
                "cpu_usage<=80 underused_at=20",
                {
                    "kind": "slo",
                    "metric": "availability",
                    "operator": ">=",
                    "value": 99.9,
                    "severity": "high",
                },
                "cost daily_cost_usd",
            ]
        },
    )

    assert shown["rules"] == [
        "threshold cpu_usage <= 80 underused_at=20",
        "slo availability >= 99.9 severity=high",
        "cost daily_cost_usd",
    ]
    # What is shown can be sent back as it is
    assert put(client, {"rules": shown["rules"]})["rules"] == shown["rules"]


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (["cpu_usage <= 80", "latency <= fast"], "rules[1].value"),
        (
            ["cpu_usage <= 80", {"metric": "latency", "operator": "<=", "value": 1, "colour": "red"}],
            "rules[1].colour",
        ),
        (["cpu_usage <= 80", "cpu_usage <= 80 severity=high"], "rules[1]"),
        (["cpu_usage <= 80", 42], "rules[1]"),
        (["cpu_usage <= 80", "slo availability"], "rules[1].operator"),
    ],
)
def test_a_bad_rule_is_refused_naming_it(client: TestClient, rules: list[Any], field: str) -> None:
    put(client, {"rules": ["memory <= 90"]})

    answer = put(client, {"rules": rules}, status=422)

    assert answer["field"] == field, answer
    assert get(client, SETTINGS)["rules"] == ["threshold memory <= 90"]


def test_the_two_analysis_intervals_are_one_value(client: TestClient) -> None:
    # Given in either block, it is shown in both
    shown = put(client, {"agent": {"analysis_interval_minutes": 15}})
    assert shown["forecasting"]["analysis_interval_minutes"] == 15
    assert shown["agent"]["analysis_interval_minutes"] == 15
    shown = put(client, {"forecasting": {"analysis_interval_minutes": 30}})
    assert (
        shown["forecasting"]["analysis_interval_minutes"],
        shown["agent"]["analysis_interval_minutes"],
    ) == (30, 30)

    # Two different values at once are refused
    answer = put(
        client,
        {"forecasting": {"analysis_interval_minutes": 10}, "agent": {"analysis_interval_minutes": 20}},
        status=422,
    )
    assert answer["field"] == "agent.analysis_interval_minutes"
    assert (
        put(
            client,
            {"forecasting": {"analysis_interval_minutes": 10}, "agent": {"analysis_interval_minutes": 10}},
        )["agent"]["analysis_interval_minutes"]
        == 10
    )


def test_concurrent_updates_from_the_same_read_keep_both_changes(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto does not make a conditional write atomic with a concurrent one, so the race is staged:
    # the first PUT reads the settings, the second PUT runs to the end, then the first one writes.
    from proactive.loop import settings

    read = settings.current
    first_read, second_done, armed = threading.Event(), threading.Event(), threading.Event()

    def staged(store: Any, workspace_id: str) -> dict[str, Any]:
        current = read(store, workspace_id)
        if armed.is_set():  # the first PUT's first read (the second one starts only after it)
            armed.clear()
            first_read.set()
            assert second_done.wait(10)
        return current

    monkeypatch.setattr(settings, "current", staged)
    answers: dict[str, int] = {}

    def send(body: dict[str, Any]) -> None:
        name = threading.current_thread().name
        if name == "second":
            assert first_read.wait(10)
        answers[name] = client.put(SETTINGS, json=body).status_code
        if name == "second":
            second_done.set()

    # Given two updates of different fields made from the same read
    armed.set()
    threads = [
        threading.Thread(target=send, args=({"executor": {"max_concurrent_goals": 7}},), name="first"),
        threading.Thread(target=send, args=({"executor": {"enable_learning": False}},), name="second"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then both apply
    assert answers == {"first": 200, "second": 200}
    final = get(client, SETTINGS)
    assert final["executor"] == {
        "execution_interval_seconds": 60,
        "max_concurrent_goals": 7,
        "enable_learning": False,
    }
    assert final["version"] == 2


# Mode and status


def test_autonomous_mode_on_and_off_shows_in_the_status(client: TestClient) -> None:
    # Given a workspace with two metrics and the loop off
    client.post(
        METRICS, json={"metrics": [{"metric_name": "cpu", "value": 1}, {"metric_name": "mem", "value": 2}]}
    )
    assert get(client, STATUS) == {
        "workspace_id": "ws-1",
        "autonomous_mode": False,
        "metrics_tracked": 2,
        "last_analysis_at": None,
        "next_analysis_at": None,
        "active_goals": 0,
        "settings_version": 0,
    }

    # When it is turned on, the first analysis is due at once
    before = datetime.now(UTC)
    on = client.post(MODE, json={"autonomous": True})
    assert on.status_code == 200, on.text
    status = on.json()
    assert status["autonomous_mode"] is True
    due = parse_iso(status["next_analysis_at"])
    assert before - timedelta(seconds=1) <= due <= datetime.now(UTC)
    assert get(client, STATUS) == status
    assert get(client, SETTINGS)["agent"]["autonomous_mode"] is True

    # Turned on again, nothing moves
    assert (
        client.post(MODE, json={"autonomous": True}).json()["next_analysis_at"] == status["next_analysis_at"]
    )

    # Auto analysis off: nothing is due while the mode stays on
    assert put(client, {"forecasting": {"auto_analysis_enabled": False}})["next_analysis_at"] is None

    # When it is turned off, nothing is due
    off = client.post(MODE, json={"autonomous": False}).json()
    assert (off["autonomous_mode"], off["next_analysis_at"]) == (False, None)
    assert off["settings_version"] == 4


def test_the_mode_refuses_what_is_not_a_boolean(client: TestClient) -> None:
    resp = client.post(MODE, json={"autonomous": "on"})

    assert resp.status_code == 422
    assert resp.json()["field"] == "autonomous"


# Predictions


def truth(t: float, start: float) -> float:
    """A daily cycle of amplitude 20 on a level rising 0.25 an hour."""
    return 50 + 20 * math.sin(2 * math.pi * t / 86_400) + (t - start) / 3600 * 0.25


def test_predictions_continue_a_daily_cycle_and_its_trend(client: TestClient) -> None:
    # Given six days of five-minute points of a daily cycle on a rising level, with noise
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    stamps = [now - timedelta(minutes=5 * (6 * 288 - i)) for i in range(6 * 288)]
    start = stamps[0].timestamp()
    rng = random.Random(3)
    post_series(client, "cpu_usage", stamps, [truth(t.timestamp(), start) + rng.gauss(0, 2) for t in stamps])

    # When the next 24 hours are predicted
    answer = get(client, PREDICTIONS, horizon_hours=24)

    # Then there are 288 points, one every five minutes after the last one
    assert (answer["horizon_hours"], answer["level"]) == (24, 0.9)
    (prediction,) = answer["predictions"]
    points = prediction["points"]
    assert len(points) == 24 * 12
    assert prediction["step_seconds"] == 300
    assert prediction["season"] == {"steps": 288, "seconds": 86_400}
    assert prediction["history_points"] == 6 * 288
    assert parse_iso(points[0]["timestamp"]) == stamps[-1] + timedelta(minutes=5)
    assert prediction["reason"] is None
    assert prediction["method"] in ("ensemble", "holt_winters")
    assert sum(prediction["weights"].values()) == pytest.approx(1.0)
    assert prediction["backtest_mase"][prediction["method"]] < 1
    # The values follow the cycle and the trend (a day later, 6 higher), and the 90% intervals
    # hold most of what would have been measured
    expected = [truth(parse_iso(p["timestamp"]).timestamp(), start) for p in points]
    measured = [e + rng.gauss(0, 2) for e in expected]
    assert sum(abs(p["value"] - e) for p, e in zip(points, expected, strict=True)) / len(points) < 3
    last_day = [truth(t.timestamp(), start) for t in stamps[-288:]]
    rise = sum(p["value"] for p in points) / len(points) - sum(last_day) / len(last_day)
    assert 4 < rise < 8
    inside = sum(p["lower"] <= m <= p["upper"] for p, m in zip(points, measured, strict=True))
    assert inside >= 0.8 * len(points)

    # The settings choose the default horizon and the method
    put(client, {"forecast_horizon_hours": 2, "forecasting": {"forecaster": {"default_method": "theta"}}})
    short = get(client, PREDICTIONS, metric_name="cpu_usage")
    assert short["horizon_hours"] == 2
    assert len(short["predictions"][0]["points"]) == 24
    assert short["predictions"][0]["method"] == "theta"


def test_a_metric_with_too_few_points_is_answered_with_the_reason(client: TestClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    post_series(client, "queue_depth", [now - timedelta(minutes=5 * i) for i in range(5)], [3.0, 4, 5, 4, 3])
    post_series(
        client,
        "latency",
        [now - timedelta(minutes=i) for i in range(120)],
        [100.0 + i % 7 for i in range(120)],
    )

    answer = get(client, PREDICTIONS, horizon_hours=1)

    by_name = {p["metric_name"]: p for p in answer["predictions"]}
    assert sorted(by_name) == ["latency", "queue_depth"]
    assert by_name["queue_depth"]["points"] == []
    assert "5 points are too few" in by_name["queue_depth"]["reason"]
    assert by_name["queue_depth"]["method"] is None
    assert len(by_name["latency"]["points"]) == 60
    assert by_name["latency"]["reason"] is None


def test_predictions_refuse_an_unknown_metric_and_a_horizon_out_of_range(client: TestClient) -> None:
    assert get(client, PREDICTIONS, 404, metric_name="nope")["error"] == "not_found"
    for hours in (0, 169):
        assert get(client, PREDICTIONS, 422, horizon_hours=hours)["field"] == "horizon_hours"
    assert get(client, PREDICTIONS)["predictions"] == []


def test_predictions_page_through_many_metrics(client: TestClient) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    client.post(
        METRICS,
        json={"metrics": [{"metric_name": f"m{i:02d}", "value": 1, "timestamp": iso(now)} for i in range(5)]},
    )

    first = get(client, PREDICTIONS, limit=3)
    second = get(client, PREDICTIONS, limit=3, cursor=first["next_cursor"])

    names = [p["metric_name"] for p in first["predictions"] + second["predictions"]]
    assert names == [f"m{i:02d}" for i in range(5)]
    assert second["next_cursor"] is None


# Workspaces


def test_workspaces_keep_their_own_settings_and_metrics(client: TestClient, other: TestClient) -> None:
    # Given ws-1 with changed settings, the loop on, and a metric
    put(client, {"executor": {"max_concurrent_goals": 9}})
    client.post(MODE, json={"autonomous": True})
    client.post(METRICS, json={"metric_name": "cpu", "value": 1})

    # Then ws-2 sees its own defaults and nothing of ws-1's
    assert configured(get(other, SETTINGS)) == DEFAULTS
    assert get(other, STATUS)["autonomous_mode"] is False
    assert get(other, STATUS)["metrics_tracked"] == 0
    assert get(other, PREDICTIONS)["predictions"] == []
    assert get(other, PREDICTIONS, 404, metric_name="cpu")["error"] == "not_found"

    # And cannot read or change ws-1's
    assert get(other, SETTINGS, 403, workspace_id="ws-1")["field"] == "workspace_id"
    assert put(other, {"workspace_id": "ws-1", "executor": {"max_concurrent_goals": 1}}, status=403)
    assert other.post(MODE, json={"workspace_id": "ws-1", "autonomous": False}).status_code == 403
    assert get(client, SETTINGS)["executor"]["max_concurrent_goals"] == 9
    assert get(client, STATUS)["autonomous_mode"] is True
