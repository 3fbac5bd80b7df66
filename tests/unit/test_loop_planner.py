"""The planner: Thompson sampling over actions' records, and when and in what order goals are acted on."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.errors import InvalidInput
from proactive.loop.goals import Evidence, Goal, MetricView
from proactive.loop.planner import (
    Action,
    ActionStats,
    Plan,
    Strategy,
    choose_action,
    plan_goals,
    quiet_hour,
    should_replan,
)
from proactive.loop.rules import GoalType, Target

# Monday 2 March 2026, 09:00 UTC.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0
STEP = 300.0
UTC_ZONE = ZoneInfo("UTC")

SCALE_OUT = Action("scale-out", "Scale out", frozenset({GoalType.BOTTLENECK_PREVENTION}))
TUNE = Action("tune", "Optimise CPU-intensive processes", frozenset({GoalType.BOTTLENECK_PREVENTION}))


def goal(
    goal_id: str,
    *,
    metric: str = "cpu_usage",
    goal_type: GoalType = GoalType.BOTTLENECK_PREVENTION,
    priority: float = 50.0,
    due_in_hours: float | None = None,
    resource: str | None = None,
) -> Goal:
    label = "critical" if priority >= 80 else "high" if priority >= 60 else "medium"
    return Goal(
        id=goal_id,
        type=goal_type,
        metric=metric,
        rule=f"threshold {metric} <= 80",
        resource=resource or metric,
        target=Target(metric, "<=", 80.0),
        severity="medium",
        priority=priority,
        priority_label=label,
        title=f"Prevent {metric} bottleneck",
        description="",
        evidence=Evidence("predicted_breach", ""),
        due_at=None if due_in_hours is None else NOW + due_in_hours * HOUR,
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + 48 * HOUR,
    )


def daily(days: int = 7, quiet_utc_hour: int = 3, noise: float = 2.0) -> list[tuple[float, float]]:
    """Five-minute CPU over `days` up to now, lowest in the middle of `quiet_utc_hour` each day."""
    times = NOW - STEP * np.arange(days * 288)[::-1]
    hours = (times % 86_400) / HOUR
    values = 50 - 20 * np.cos(2 * np.pi * (hours - quiet_utc_hour - 0.5) / 24)
    values += np.random.default_rng(0).normal(0, noise, times.size)
    return list(zip(times.tolist(), values.tolist(), strict=True))


def test_thompson_sampling_prefers_the_better_record_but_still_explores() -> None:
    # Given one action with a good record and one barely tried
    proven = Action("proven", "Proven", frozenset({GoalType.BOTTLENECK_PREVENTION}), stats=ActionStats(16, 4))
    new = Action("new", "New", frozenset({GoalType.BOTTLENECK_PREVENTION}), stats=ActionStats(1, 1))
    rng = np.random.default_rng(7)

    # When an action is chosen many times
    picks = Counter()
    for _ in range(2000):
        choice = choose_action(GoalType.BOTTLENECK_PREVENTION, [new, proven], rng)
        assert choice is not None
        picks[choice.action.id] += 1

    # Then the proven action wins most draws and the new one still some
    assert picks["proven"] > 0.7 * 2000
    assert picks["new"] > 0.05 * 2000


def test_a_better_mean_impact_tips_equal_records() -> None:
    strong = Action("strong", "Strong", frozenset({GoalType.COST_REDUCTION}), stats=ActionStats(5, 5, 3.0, 6))
    weak = Action("weak", "Weak", frozenset({GoalType.COST_REDUCTION}), stats=ActionStats(5, 5, -3.0, 6))
    rng = np.random.default_rng(1)

    picks = Counter(
        choose_action(GoalType.COST_REDUCTION, [weak, strong], rng).action.id for _ in range(1000)
    )

    assert picks["strong"] > 0.8 * 1000


def test_the_same_seed_gives_the_same_plans() -> None:
    goals = [goal("g1"), goal("g2", metric="memory")]

    first = plan_goals(goals, [SCALE_OUT, TUNE], {}, np.random.default_rng(42), NOW)
    second = plan_goals(goals, [SCALE_OUT, TUNE], {}, np.random.default_rng(42), NOW)

    assert first == second


def test_only_actions_serving_the_goal_type_are_candidates() -> None:
    cost_only = Action("cut", "Cut spend", frozenset({GoalType.COST_REDUCTION}))

    [plan] = plan_goals([goal("g1")], [cost_only], {}, np.random.default_rng(0), NOW)

    assert plan.action_id is None
    assert plan.after is None
    assert "No action serves BOTTLENECK_PREVENTION goals" in plan.reason


@pytest.mark.parametrize(
    ("priority", "due_in_hours", "why"),
    [(85.0, 5.0, "critical priority"), (55.0, 0.5, "due within the hour (30 min)")],
)
def test_critical_or_imminent_goals_act_now(priority: float, due_in_hours: float, why: str) -> None:
    [plan] = plan_goals(
        [goal("g1", priority=priority, due_in_hours=due_in_hours)],
        [SCALE_OUT],
        {"cpu_usage": MetricView(daily())},
        np.random.default_rng(0),
        NOW,
    )

    assert (plan.strategy, plan.wait_until, plan.action_id) == (Strategy.IMMEDIATE, NOW, "scale-out")
    assert why in plan.reason


def test_scheduled_waits_for_the_quiet_hour_when_it_comes_before_the_deadline() -> None:
    # Given CPU quietest around 03:00 UTC and a goal due in two days
    metrics = {"cpu_usage": MetricView(daily(quiet_utc_hour=3))}

    # When it is planned at 09:00 UTC
    [plan] = plan_goals([goal("g1", due_in_hours=48)], [SCALE_OUT], metrics, np.random.default_rng(0), NOW)

    # Then it waits for 03:00 UTC tomorrow
    assert plan.strategy == Strategy.SCHEDULED
    assert plan.wait_until == NOW + 18 * HOUR
    assert "quiet hour, 03:00 UTC" in plan.reason


def test_scheduled_acts_before_the_deadline_when_the_quiet_hour_comes_too_late() -> None:
    metrics = {"cpu_usage": MetricView(daily(quiet_utc_hour=3))}

    [plan] = plan_goals([goal("g1", due_in_hours=5)], [SCALE_OUT], metrics, np.random.default_rng(0), NOW)

    # Half the five hours left is kept as a margin.
    assert (plan.strategy, plan.wait_until) == (Strategy.SCHEDULED, NOW + 2.5 * HOUR)
    assert "2.5 h before the goal is due" in plan.reason


def test_a_goal_without_a_deadline_or_a_quiet_hour_acts_now() -> None:
    [plan] = plan_goals([goal("g1")], [SCALE_OUT], {}, np.random.default_rng(0), NOW)

    assert (plan.strategy, plan.wait_until) == (Strategy.SCHEDULED, NOW)


def test_a_volatile_metric_is_planned_adaptively_and_replanned_when_it_moves() -> None:
    # Given CPU swinging by a third within the last hour, last seen at 60
    swings = [(NOW - STEP * k, 60.0 if k == 0 else 40.0 + 40.0 * (k % 2)) for k in range(12, -1, -1)]

    [plan] = plan_goals(
        [goal("g1", due_in_hours=5)],
        [SCALE_OUT],
        {"cpu_usage": MetricView(swings)},
        np.random.default_rng(0),
        NOW,
    )

    assert plan.strategy == Strategy.ADAPTIVE
    assert plan.planned_value == 60.0
    assert "re-planned if it moves more than that" in plan.reason
    assert should_replan(plan, 67.0)
    assert should_replan(plan, 53.0)
    assert not should_replan(plan, 65.0)
    assert not should_replan(plan, 67.0, tolerance=0.2)


@pytest.mark.parametrize(
    ("strategy", "replanned"),
    [(Strategy.SCHEDULED, False), (Strategy.IMMEDIATE, False), (Strategy.COLLABORATIVE, True)],
)
def test_collaborative_plans_are_replanned_too_and_the_others_are_not(
    strategy: Strategy, replanned: bool
) -> None:
    plan = Plan("g1", "a", strategy, NOW, None, 0.5, False, 60.0, "")

    assert should_replan(plan, 80.0) is replanned
    assert not should_replan(plan, 61.0)


def test_goals_on_one_resource_run_in_sequence() -> None:
    # Given two goals on cpu_usage and one on memory, with room for all three at once
    urgent = goal("urgent", priority=70, due_in_hours=3)
    pattern = goal("pattern", goal_type=GoalType.PATTERN_ADAPTATION, priority=50, due_in_hours=4)
    memory = goal("memory", metric="memory", priority=60, due_in_hours=3)
    adapt = Action("pre-scale", "Pre-scale", frozenset({GoalType.PATTERN_ADAPTATION}))

    plans = {
        p.goal_id: p
        for p in plan_goals([pattern, memory, urgent], [SCALE_OUT, adapt], {}, np.random.default_rng(0), NOW)
    }

    # Then the less pressing cpu goal waits for the more pressing one; memory goes its own way
    assert (plans["pattern"].strategy, plans["pattern"].after) == (Strategy.COLLABORATIVE, "urgent")
    assert "runs after goal urgent, which works on cpu_usage too" in plans["pattern"].reason
    assert plans["urgent"].after is None
    assert plans["urgent"].strategy != Strategy.COLLABORATIVE
    assert plans["memory"].after is None


def test_a_resource_tag_joins_goals_on_different_metrics_and_running_goals_count() -> None:
    running = goal("running", metric="db_cpu", resource="db")
    waiting = goal("waiting", metric="db_connections", resource="db")

    [plan] = plan_goals([waiting], [SCALE_OUT], {}, np.random.default_rng(0), NOW, running=[running])

    assert (plan.strategy, plan.after) == (Strategy.COLLABORATIVE, "running")


def test_plans_beyond_max_concurrent_goals_wait_for_earlier_ones() -> None:
    goals = [goal(f"g{k}", metric=f"m{k}", priority=70 - k) for k in range(5)]

    plans = plan_goals(goals, [SCALE_OUT], {}, np.random.default_rng(0), NOW, max_concurrent_goals=3)

    assert [(p.goal_id, p.after) for p in plans] == [
        ("g0", None),
        ("g1", None),
        ("g2", None),
        ("g3", "g0"),
        ("g4", "g1"),
    ]
    assert "max_concurrent_goals=3 are taken, so it runs after goal g0" in plans[3].reason


def test_the_plan_carries_the_approval_requirement() -> None:
    gated = Action(
        "resize", "Resize instance", frozenset({GoalType.BOTTLENECK_PREVENTION}), requires_approval=True
    )

    [plan] = plan_goals([goal("g1")], [gated], {}, np.random.default_rng(0), NOW)

    assert plan.requires_approval is True


def test_bad_concurrency_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        plan_goals([], [], {}, np.random.default_rng(0), NOW, max_concurrent_goals=0)

    assert caught.value.field == "max_concurrent_goals"


def test_a_quiet_hour_needs_two_days_and_a_clear_daily_shape() -> None:
    noise = [
        (t, 50.0 + float(e))
        for (t, _), e in zip(daily(), np.random.default_rng(3).normal(0, 5, 7 * 288), strict=True)
    ]

    assert quiet_hour(daily(quiet_utc_hour=15), UTC_ZONE) == 15
    assert quiet_hour(daily(quiet_utc_hour=15), ZoneInfo("Asia/Tokyo")) == 0  # 15:00 UTC is midnight in Tokyo
    assert quiet_hour(daily(days=1), UTC_ZONE) is None
    assert quiet_hour(noise, UTC_ZONE) is None


@settings(max_examples=100, deadline=None)
@given(
    resources=st.lists(st.sampled_from("abcde"), min_size=1, max_size=12),
    running=st.lists(st.sampled_from("abcxyz"), max_size=3, unique=True),
    slots=st.integers(1, 4),
)
def test_lanes_bound_concurrency_and_keep_each_resource_in_sequence(
    resources: list[str], running: list[str], slots: int
) -> None:
    goals = [goal(f"g{k}", metric=r, priority=90 - k) for k, r in enumerate(resources)]
    busy = [goal(f"run-{r}", metric=r) for r in running]

    plans = plan_goals(
        goals, [SCALE_OUT], {}, np.random.default_rng(0), NOW, max_concurrent_goals=slots, running=busy
    )

    # Plans free to start at once never exceed the slots left by the running goals.
    assert sum(p.after is None for p in plans) <= max(0, slots - len(busy))
    # Every later goal on a resource waits, through its chain, for every earlier one on it.
    after = {p.goal_id: p.after for p in plans}
    order = [g.id for g in busy] + [p.goal_id for p in plans]
    metric_of = {g.id: g.metric for g in [*busy, *goals]}
    for k, later in enumerate(order):
        ancestors, node = set(), after.get(later)
        while node is not None:
            ancestors.add(node)
            node = after.get(node)
        assert {e for e in order[:k] if metric_of[e] == metric_of[later]} <= ancestors
