"""The Beta posterior's credible interval against closed forms, and the executor's statistics and
insights from actions' records."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.loop.insights import (
    beta_cdf,
    beta_quantile,
    credible_interval,
    insights,
    posterior,
    record_of,
    statistics,
)
from proactive.loop.rules import GoalType

counts = st.integers(min_value=1, max_value=5000)
probabilities = st.floats(min_value=0.001, max_value=0.999)


def test_with_nothing_learnt_the_interval_is_the_middle_90_percent() -> None:
    lower, upper = credible_interval(1, 1)
    assert lower == pytest.approx(0.05, abs=1e-12)
    assert upper == pytest.approx(0.95, abs=1e-12)
    assert credible_interval(1, 1, 0.5) == (pytest.approx(0.25, abs=1e-12), pytest.approx(0.75, abs=1e-12))


@pytest.mark.parametrize("a", [1, 2, 3, 7, 40, 1000])
def test_only_successes_match_the_closed_form(a: int) -> None:
    # Beta(a, 1) has the CDF x^a, so its quantile is p^(1/a)
    lower, upper = credible_interval(a, 1)
    assert lower == pytest.approx(0.05 ** (1 / a), abs=1e-12)
    assert upper == pytest.approx(0.95 ** (1 / a), abs=1e-12)


@pytest.mark.parametrize("b", [1, 2, 3, 7, 40, 1000])
def test_only_failures_match_the_closed_form(b: int) -> None:
    # Beta(1, b) has the CDF 1 - (1 - x)^b
    lower, upper = credible_interval(1, b)
    assert lower == pytest.approx(1 - 0.95 ** (1 / b), abs=1e-12)
    assert upper == pytest.approx(1 - 0.05 ** (1 / b), abs=1e-12)


def test_one_success_one_failure_matches_the_closed_form() -> None:
    # Beta(2, 2) has the CDF 3x^2 - 2x^3, symmetric about 1/2
    lower, upper = credible_interval(2, 2)
    assert 3 * lower**2 - 2 * lower**3 == pytest.approx(0.05, abs=1e-12)
    assert 3 * upper**2 - 2 * upper**3 == pytest.approx(0.95, abs=1e-12)
    assert lower + upper == pytest.approx(1, abs=1e-12)
    assert lower == pytest.approx(0.1353503621715837, abs=1e-9)


def test_a_long_record_narrows_to_the_normal_interval() -> None:
    # 9000 successes and 1000 failures: the posterior is close to normal
    alpha, beta = 9001, 1001
    mean = alpha / (alpha + beta)
    sd = math.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)))
    lower, upper = credible_interval(alpha, beta)
    assert lower == pytest.approx(mean - 1.6448536 * sd, abs=2e-4)
    assert upper == pytest.approx(mean + 1.6448536 * sd, abs=2e-4)
    assert upper - lower < 0.01


def test_the_interval_is_the_same_every_time() -> None:
    assert credible_interval(13, 4) == credible_interval(13, 4)


@settings(max_examples=200, deadline=None)
@given(a=counts, b=counts, x=st.floats(min_value=0.0, max_value=1.0))
def test_the_cdf_is_a_probability_with_the_beta_symmetry(a: int, b: int, x: float) -> None:
    value = beta_cdf(x, a, b)
    assert 0.0 <= value <= 1.0 + 1e-12
    assert value == pytest.approx(1 - beta_cdf(1 - x, b, a), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(a=counts, b=counts, p=probabilities)
def test_the_quantile_inverts_the_cdf(a: int, b: int, p: float) -> None:
    x = beta_quantile(p, a, b)
    assert 0.0 <= x <= 1.0
    assert beta_cdf(x, a, b) == pytest.approx(p, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(successes=st.integers(0, 500), failures=st.integers(0, 500))
def test_the_interval_holds_the_mean_and_narrows_with_more_outcomes(successes: int, failures: int) -> None:
    now = posterior(successes, failures)
    later = posterior(successes * 4, failures * 4)
    assert (now.alpha, now.beta) == (1 + successes, 1 + failures)
    assert now.lower < now.mean < now.upper
    assert later.upper - later.lower <= now.upper - now.lower + 1e-12


def test_impossible_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="parameters are positive"):
        beta_cdf(0.5, 0, 1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        beta_quantile(1.5, 1, 1)
    with pytest.raises(ValueError, match="level is between 0 and 1"):
        credible_interval(1, 1, 1.0)


def action(
    name: str, goal_types: list[str], *, successes: int = 0, failures: int = 0, **extra: Any
) -> dict[str, Any]:
    return {
        "id": f"act-{name}",
        "name": name,
        "kind": "agent",
        "goal_types": goal_types,
        "is_active": True,
        "attempts": successes + failures,
        "successes": successes,
        "failures": failures,
        "impact_sum": 0,
        "impact_count": 0,
        **extra,
    }


def test_statistics_cover_every_goal_type() -> None:
    actions = [
        action("scale", ["BOTTLENECK_PREVENTION"], successes=3, failures=1),
        action("shrink", ["RESOURCE_OPTIMIZATION", "COST_REDUCTION"], failures=2, is_active=False),
    ]
    found = statistics("ws-1", actions)
    assert found.totals.model_dump() == {
        "actions": 2,
        "active_actions": 1,
        "attempts": 6,
        "successes": 3,
        "failures": 3,
        "awaiting_outcome": 0,
        "success_rate": 0.5,
    }
    assert set(found.by_goal_type) == set(GoalType)
    assert found.by_goal_type[GoalType.COST_REDUCTION].success_rate == 0.0
    assert found.by_goal_type[GoalType.RESOURCE_OPTIMIZATION].active_actions == 0
    assert found.by_goal_type[GoalType.SLA_MAINTENANCE].model_dump() == {
        "actions": 0,
        "active_actions": 0,
        "attempts": 0,
        "successes": 0,
        "failures": 0,
        "awaiting_outcome": 0,
        "success_rate": None,
    }
    assert statistics("ws-1", []).totals.success_rate is None


def test_insights_rank_by_posterior_mean_and_name_the_failures() -> None:
    actions = [
        action("untried", ["COST_REDUCTION"]),
        action("flaky", ["COST_REDUCTION"], successes=1, failures=3),
        action("solid", ["COST_REDUCTION"], successes=8, failures=1, impact_sum=0.9, impact_count=3),
        action("broken", ["COST_REDUCTION"], failures=3),
    ]
    found = insights("ws-1", actions)
    assert [a.name for a in found.actions] == ["solid", "untried", "flaky", "broken"]
    solid = found.actions[0]
    assert solid.success_rate == pytest.approx(8 / 9)
    assert solid.mean_impact == pytest.approx(0.3)
    assert solid.posterior.mean == pytest.approx(9 / 11)
    assert found.action_success_rates["flaky"].model_dump() == {"rate": 0.25, "attempts": 4}
    assert "untried" not in found.action_success_rates
    # A tie in failures is broken by name
    assert [(f.action, f.count) for f in found.common_failures] == [("broken", 3), ("flaky", 3), ("solid", 1)]


def test_the_record_reads_as_the_planners() -> None:
    stats = record_of(
        action("solid", ["COST_REDUCTION"], successes=2, failures=1, impact_sum=0.5, impact_count=2)
    )
    assert (stats.successes, stats.failures, stats.mean_impact) == (2, 1, 0.25)
    assert record_of({}).mean_impact is None


def test_an_execution_awaiting_its_outcome_counts_as_an_attempt_not_a_failure() -> None:
    # An execution counts as an attempt when it starts; its outcome is learnt after the impact window.
    actions = [action("scale", ["BOTTLENECK_PREVENTION"], successes=1, attempts=3)]
    totals = statistics("ws-1", actions).totals
    assert (totals.attempts, totals.awaiting_outcome, totals.success_rate) == (3, 2, 1.0)
    [shown] = insights("ws-1", actions).actions
    assert (shown.attempts, shown.awaiting_outcome, shown.success_rate) == (3, 2, 1.0)
    assert statistics("ws-1", [action("new", ["COST_REDUCTION"], attempts=1)]).totals.success_rate is None
