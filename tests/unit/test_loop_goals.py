"""The goal setter on the seed's workflow and on each kind of finding: why, how urgent, how many."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.analytics.forecast import Forecast, ForecastPoint, forecast
from proactive.analytics.patterns import Pattern
from proactive.errors import InvalidInput
from proactive.loop.goals import AnomalyScore, Goal, MetricView, goal_id, set_goals
from proactive.loop.rules import GoalType, Rule, Target, forecast_horizons, parse_rule
from proactive.loop.timing import next_local_hour

# Monday 2 March 2026, 09:00 UTC.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
STEP = 300.0
HOUR = 3600.0


def rising_cpu(seed: int = 3) -> MetricView:
    """Six days of five-minute CPU with a daily peak growing towards 95% six hours from now."""
    n = 6 * 288
    times = NOW - STEP * np.arange(n)[::-1]
    hours = np.arange(n) / 12
    peak_at = hours[-1] + 6
    values = 30 + (45 / peak_at) * hours + 20 * np.cos(2 * np.pi * (hours - peak_at) / 24)
    values += np.random.default_rng(seed).normal(0, 1.0, n)
    horizon = forecast_horizons([parse_rule("cpu_usage <= 80")])["cpu_usage"]
    return MetricView(
        points=list(zip(times.tolist(), values.tolist(), strict=True)),
        forecast=forecast(times, values, horizon_seconds=horizon),
    )


def line(start: float, per_hour: float, hours: float, spread: float = 1.0, method: str = "holt") -> Forecast:
    """A forecast going linearly from `start`, one point every five minutes from now on."""
    points = []
    for k in range(1, int(hours * 12) + 1):
        value = start + per_hour * k / 12
        points.append(ForecastPoint(NOW + k * STEP, value, value - spread, value + spread))
    return Forecast(method, STEP, None, {method: 0.8}, {method: 1.0}, points)


def flat(value: float, hours: float, noise: float = 0.0, seed: int = 0) -> list[tuple[float, float]]:
    """Points every five minutes over the last `hours`, ending now."""
    n = int(hours * 12) + 1
    jitter = np.random.default_rng(seed).normal(0, noise, n) if noise else np.zeros(n)
    return [(NOW - (n - 1 - k) * STEP, value + float(jitter[k])) for k in range(n)]


def only(decisions_created: tuple[Goal, ...]) -> Goal:
    assert len(decisions_created) == 1, [g.type for g in decisions_created]
    return decisions_created[0]


def test_the_seed_workflow_sets_one_bottleneck_goal_and_a_rerun_updates_it() -> None:
    # Given CPU rising towards 95% within six hours and the rule "keep it at or below 80"
    rule = parse_rule("cpu_usage <= 80")
    view = rising_cpu()

    # When the analysis runs
    first = set_goals([rule], {"cpu_usage": view}, [], [], NOW)

    # Then one goal prevents the bottleneck, with the breach predicted within the horizon
    goal = only(first.created)
    assert goal.type == GoalType.BOTTLENECK_PREVENTION
    assert goal.title == "Prevent cpu_usage bottleneck"
    assert goal.target == Target("cpu_usage", "<=", 80.0)
    assert goal.due_at is not None
    assert NOW < goal.due_at <= NOW + 6 * HOUR
    evidence = goal.evidence
    assert evidence.trigger == "predicted_breach"
    assert evidence.breach_at == goal.due_at
    assert evidence.breach_value is not None
    assert evidence.breach_value > 80
    # The peak the seed speaks of: about 95% within the six hours.
    assert evidence.worst_value == pytest.approx(95, abs=3)
    assert view.forecast is not None
    assert evidence.forecast_method == view.forecast.method
    assert evidence.backtest_mase == view.forecast.backtest_mase[view.forecast.method]
    assert f"({view.forecast.method} forecast, backtest MASE" in goal.description
    assert goal.expires_at > goal.due_at
    assert goal.status == "active"

    # When the same analysis runs again a little later, with that goal active
    later = NOW + 300
    again = set_goals([rule], {"cpu_usage": view}, [], [goal], later)

    # Then it refreshes the goal rather than adding one
    assert (again.created, again.dropped) == ((), ())
    refreshed = only(again.updated)
    assert (refreshed.id, refreshed.created_at, refreshed.updated_at) == (goal.id, NOW, later)


def test_the_goal_id_depends_on_type_metric_and_condition_only() -> None:
    plain, tuned = parse_rule("cpu_usage <= 80"), parse_rule("cpu_usage <= 80 severity=critical")

    assert goal_id(GoalType.BOTTLENECK_PREVENTION, plain) == goal_id(GoalType.BOTTLENECK_PREVENTION, tuned)
    assert goal_id(GoalType.BOTTLENECK_PREVENTION, plain) != goal_id(GoalType.CAPACITY_PLANNING, plain)
    assert goal_id(GoalType.BOTTLENECK_PREVENTION, plain) != goal_id(
        GoalType.BOTTLENECK_PREVENTION, parse_rule("cpu_usage <= 90")
    )


PEAK = Pattern(
    kind="metric_peak",
    subject="requests",
    hour_of_day=11,
    day_of_week=None,
    occurrences=6,
    days_observed=7,
    confidence=0.85,
    description="requests peaks around 11:00 UTC on 6 of the last 7 days",
)


@pytest.mark.parametrize(
    ("goal_type", "text", "view", "trigger"),
    [
        (
            GoalType.BOTTLENECK_PREVENTION,
            "cpu_usage <= 80",
            MetricView(flat(60, 2), line(60, 8, 6)),
            "predicted_breach",
        ),
        (
            GoalType.CAPACITY_PLANNING,
            "disk_pct <= 90",
            MetricView(flat(50, 2), line(50, 0.5, 168)),
            "slow_growth",
        ),
        (
            GoalType.RESOURCE_OPTIMIZATION,
            "cpu_usage <= 80 underused_at=20",
            MetricView(flat(8, 26, noise=2)),
            "underused",
        ),
        (GoalType.PERFORMANCE_TARGET, "target p95_ms <= 200", MetricView(flat(250, 2)), "current_breach"),
        (
            GoalType.SLA_MAINTENANCE,
            "slo availability >= 99.9",
            MetricView(flat(99.95, 2), line(99.95, 0, 6, spread=0.1)),
            "predicted_breach",
        ),
        (
            GoalType.COST_REDUCTION,
            "cost spend_usd",
            MetricView(flat(100, 2), line(100, 5, 6)),
            "rising_forecast",
        ),
        (GoalType.PATTERN_ADAPTATION, "pattern requests <= 1000", MetricView(flat(500, 2)), "pattern"),
    ],
    ids=lambda x: x if isinstance(x, GoalType) else "",
)
def test_each_goal_type_is_set_by_its_rule(
    goal_type: GoalType, text: str, view: MetricView, trigger: str
) -> None:
    # Given the rule and data for this goal type
    rule = parse_rule(text)

    # When the analysis runs
    decisions = set_goals([rule], {rule.metric: view}, [PEAK], [], NOW)

    # Then exactly that goal is set, for the reason expected
    goal = only(decisions.created)
    assert (goal.type, goal.evidence.trigger) == (goal_type, trigger)
    assert goal.evidence.summary in goal.description
    assert goal.id == goal_id(goal_type, rule)


def test_a_breach_within_the_horizon_is_a_bottleneck_and_beyond_it_capacity_planning() -> None:
    rule = parse_rule("cpu_usage <= 80")

    soon = set_goals([rule], {"cpu_usage": MetricView(flat(60, 2), line(60, 5, 168))}, [], [], NOW)
    later = set_goals([rule], {"cpu_usage": MetricView(flat(60, 2), line(60, 0.2, 168))}, [], [], NOW)
    never = set_goals([rule], {"cpu_usage": MetricView(flat(60, 2), line(60, 0.05, 168))}, [], [], NOW)

    assert only(soon.created).type == GoalType.BOTTLENECK_PREVENTION
    growth = only(later.created)
    assert growth.type == GoalType.CAPACITY_PLANNING
    # 20 points at 0.2 an hour: the breach is about 100 hours away.
    assert growth.due_at == pytest.approx(NOW + 100 * HOUR, abs=HOUR)
    assert "in 4.2 days" in growth.description
    assert never.created == ()


def test_an_slo_is_guarded_against_a_plausible_breach_and_a_target_only_against_an_expected_one() -> None:
    # Given a forecast flat at 99.95 whose interval dips to 99.85
    view = MetricView(flat(99.95, 2), line(99.95, 0, 6, spread=0.1))

    slo = set_goals([parse_rule("slo availability >= 99.9")], {"availability": view}, [], [], NOW)
    target = set_goals([parse_rule("target availability >= 99.9")], {"availability": view}, [], [], NOW)

    goal = only(slo.created)
    assert goal.evidence.breach_value == pytest.approx(99.85)
    assert "availability's lower bound reaches" in goal.description
    assert target.created == ()


def test_an_anomaly_towards_the_limit_sets_a_goal_and_one_away_from_it_does_not() -> None:
    rule = parse_rule("target p95_ms <= 200")
    points = flat(120, 24, noise=5)
    spike = AnomalyScore(NOW - 600, 190.0, 0.97)
    dip = AnomalyScore(NOW - 600, 20.0, 0.99)
    stale = AnomalyScore(NOW - 3 * HOUR, 190.0, 0.99)
    weak = AnomalyScore(NOW - 600, 190.0, 0.5)

    decisions = {
        name: set_goals([rule], {"p95_ms": MetricView(points, anomalies=[a])}, [], [], NOW)
        for name, a in [("spike", spike), ("dip", dip), ("stale", stale), ("weak", weak)]
    }

    goal = only(decisions["spike"].created)
    assert (goal.type, goal.evidence.anomaly_score, goal.evidence.anomaly_value) == (
        GoalType.PERFORMANCE_TARGET,
        0.97,
        190.0,
    )
    assert goal.priority == pytest.approx(40 + 25 * 0.97, abs=0.05)
    assert [d.created for name, d in decisions.items() if name != "spike"] == [(), (), ()]


def test_a_cost_forecast_crossing_the_budget_names_the_budget() -> None:
    rule = parse_rule("cost spend_usd <= 110")

    goal = only(
        set_goals([rule], {"spend_usd": MetricView(flat(100, 2), line(100, 5, 6))}, [], [], NOW).created
    )

    assert (goal.type, goal.evidence.trigger, goal.target) == (
        GoalType.COST_REDUCTION,
        "predicted_breach",
        Target("spend_usd", "<=", 110.0),
    )


def test_a_cost_rising_less_than_min_rise_sets_nothing_and_without_budget_the_target_is_todays_level() -> (
    None
):
    gentle = set_goals(
        [parse_rule("cost spend_usd")], {"spend_usd": MetricView(flat(100, 2), line(100, 1, 6))}, [], [], NOW
    )
    steep = set_goals(
        [parse_rule("cost spend_usd")], {"spend_usd": MetricView(flat(100, 2), line(100, 5, 6))}, [], [], NOW
    )

    assert gentle.created == ()
    goal = only(steep.created)
    assert goal.target == Target("spend_usd", "<=", 100.0)
    assert goal.evidence.rise_pct == pytest.approx(30.0)


def test_an_idle_resource_needs_the_whole_window_below_the_level() -> None:
    rule = parse_rule("cpu_usage <= 80 underused_at=20 underused_hours=24")
    short = flat(8, 12)
    bursty = flat(8, 26)
    bursty[-40:] = [(t, 60.0) for t, _ in bursty[-40:]]

    assert set_goals([rule], {"cpu_usage": MetricView(short)}, [], [], NOW).created == ()
    assert set_goals([rule], {"cpu_usage": MetricView(bursty)}, [], [], NOW).created == ()
    goal = only(set_goals([rule], {"cpu_usage": MetricView(flat(8, 26))}, [], [], NOW).created)
    assert goal.target == Target("cpu_usage", ">=", 20.0)


def test_a_pattern_sets_a_goal_only_when_its_next_occurrence_is_within_the_horizon() -> None:
    rule = parse_rule("pattern requests <= 1000 horizon_hours=6")
    evening = replace(PEAK, hour_of_day=20, description="requests peaks around 20:00 UTC")
    unsure = replace(PEAK, confidence=0.3)

    goal = only(set_goals([rule], {}, [PEAK], [], NOW).created)
    assert goal.due_at == NOW + 2 * HOUR
    assert goal.evidence.pattern == PEAK
    assert set_goals([rule], {}, [evening], [], NOW).created == ()
    assert set_goals([rule], {}, [unsure], [], NOW).created == ()


def test_max_active_goals_keeps_the_most_pressing_and_says_why_the_rest_were_dropped() -> None:
    # Given five metrics breaching at different times, two goals already active
    metrics = {f"m{k}": MetricView(flat(60, 2), line(60, 4 * (k + 1), 6)) for k in range(5)}
    rules = [parse_rule(f"m{k} <= 80") for k in range(5)]
    other = parse_rule("target other <= 1")
    active = [
        replace(
            only(set_goals([other], {"other": MetricView(flat(5, 2))}, [], [], NOW).created), metric=f"o{k}"
        )
        for k in range(2)
    ]

    # When the analysis may hold four goals
    decisions = set_goals(rules, metrics, [], active, NOW, max_active_goals=4)

    # Then the two soonest breaches (steepest rises) fill the two free places
    assert [g.metric for g in decisions.created] == ["m4", "m3"]
    assert sorted(d.goal.metric for d in decisions.dropped) == ["m0", "m1", "m2"]
    assert all("max_active_goals=4 reached: 2 goals active" in d.reason for d in decisions.dropped)
    assert min(g.priority for g in decisions.created) >= max(d.goal.priority for d in decisions.dropped)


def test_two_rules_setting_one_goal_type_on_one_metric_make_one_goal() -> None:
    view = MetricView(flat(60, 2), line(60, 6, 6))
    warn, severe = parse_rule("cpu_usage <= 80"), parse_rule("cpu_usage <= 90 severity=high")

    decisions = set_goals([warn, severe], {"cpu_usage": view}, [], [], NOW)

    goal = only(decisions.created)
    assert goal.rule == severe.condition
    assert [d.goal.rule for d in decisions.dropped] == [warn.condition]
    assert "sets this goal with a higher priority" in decisions.dropped[0].reason


@settings(max_examples=60, deadline=None)
@given(
    severity=st.sampled_from(["low", "medium", "high", "critical"]),
    slopes=st.tuples(st.floats(1, 40), st.floats(1, 40)),
)
def test_a_sooner_breach_never_has_a_lower_priority(severity: str, slopes: tuple[float, float]) -> None:
    rule = Rule("cpu_usage", operator="<=", value=80, severity=severity)
    slow, fast = sorted(slopes)

    def priority(slope: float) -> float:
        view = MetricView(flat(60, 2), line(60, slope, 6))
        goals = set_goals([rule], {"cpu_usage": view}, [], [], NOW).created
        return goals[0].priority if goals else 0.0

    assert priority(fast) >= priority(slow)
    assert 0 <= priority(fast) <= 100


@pytest.mark.parametrize(
    ("severity", "breach_in_hours", "label"),
    [
        ("medium", 5.5, "medium"),
        ("medium", 0.5, "high"),
        ("high", 0.5, "critical"),
        ("critical", 5.5, "critical"),
    ],
)
def test_the_label_is_the_band_severity_and_urgency_reach(
    severity: str, breach_in_hours: float, label: str
) -> None:
    rule = Rule("cpu_usage", operator="<=", value=80, severity=severity)
    view = MetricView(flat(60, 2), line(60, 20 / breach_in_hours, 6, spread=0))

    goal = only(set_goals([rule], {"cpu_usage": view}, [], [], NOW).created)

    assert goal.priority_label == label


def test_bad_settings_are_named() -> None:
    with pytest.raises(InvalidInput) as limit:
        set_goals([], {}, [], [], NOW, max_active_goals=-1)
    with pytest.raises(InvalidInput) as zone:
        set_goals([], {}, [], [], NOW, timezone="Mars/Olympus")

    assert (limit.value.field, zone.value.field) == ("max_active_goals", "timezone")


def test_next_local_hour_follows_the_time_zone_and_weekday() -> None:
    paris = ZoneInfo("Europe/Paris")

    # 09:00 UTC is 10:00 in Paris: 11:00 Paris comes in an hour; 10:00 Paris is under way.
    assert next_local_hour(NOW, 11, paris) == NOW + HOUR
    assert next_local_hour(NOW, 10, paris) == NOW
    # Wednesday 04:00 UTC from Monday 09:00 UTC.
    assert next_local_hour(NOW, 4, ZoneInfo("UTC"), weekday=2) == NOW + 43 * HOUR
