"""The executor's statistics, and what the actions' records teach, from a workspace's actions.

An action's success rate has the posterior Beta(alpha, beta) of a uniform prior, alpha = 1 +
successes and beta = 1 + failures: the posterior the planner draws from. Its credible interval
is equal-tailed: `level` of the posterior lies between its ends, half the rest on either side.
The ends are quantiles of the Beta distribution, found by bisection on its CDF, the regularized
incomplete beta function evaluated by its continued fraction. That is deterministic and accurate
to about 1e-12 whatever the counts, where a normal approximation is poor just where it matters:
for few outcomes and for rates near 0 or 1.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from proactive.loop.planner import ActionStats
from proactive.models.actions import (
    ActionInsight,
    CommonFailure,
    ExecutorInsights,
    ExecutorStatistics,
    Outcomes,
    Posterior,
    SuccessRate,
)
from proactive.models.common import GoalType

LEVEL = 0.9
# How many of the most failing actions the insights name.
COMMON_FAILURES = 10
# Lentz's method: terms of the continued fraction, the precision it stops at, and the floor
# that keeps its running quotients away from zero. Its terms needed grow with sqrt(max(a, b)).
_MAX_TERMS = 100_000
_PRECISION = 1e-15
_TINY = 1e-300
# Halving [0, 1] this often pins a quantile far below the CDF's own rounding error.
_BISECTIONS = 64


def _fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function (Numerical Recipes' betacf)."""

    def floor(v: float) -> float:
        return v if abs(v) >= _TINY else _TINY

    c, d = 1.0, 1.0 / floor(1.0 - (a + b) * x / (a + 1.0))
    result = d
    for m in range(1, _MAX_TERMS + 1):
        even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 / floor(1.0 + even * d)
        c = floor(1.0 + even / c)
        result *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        d = 1.0 / floor(1.0 + odd * d)
        c = floor(1.0 + odd / c)
        step = d * c
        result *= step
        if abs(step - 1.0) < _PRECISION:
            break
    return result


def beta_cdf(x: float, a: float, b: float) -> float:
    """P(X <= x) for X ~ Beta(a, b), a and b positive: the regularized incomplete beta I_x(a, b)."""
    if a <= 0 or b <= 0:
        raise ValueError("a Beta distribution's parameters are positive")
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges quickly below (a + 1) / (a + b + 2); above it, I_x(a, b) = 1 - I_1-x(b, a).
    if x < (a + 1) / (a + b + 2):
        return front * _fraction(x, a, b) / a
    return 1.0 - front * _fraction(1.0 - x, b, a) / b


def beta_quantile(p: float, a: float, b: float) -> float:
    """The x at which beta_cdf(x, a, b) reaches p, by bisection (the CDF only rises)."""
    if not 0 <= p <= 1:
        raise ValueError("a probability is between 0 and 1")
    low, high = 0.0, 1.0
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if beta_cdf(middle, a, b) < p:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def credible_interval(alpha: float, beta: float, level: float = LEVEL) -> tuple[float, float]:
    """The equal-tailed interval holding `level` of Beta(alpha, beta)."""
    if not 0 < level < 1:
        raise ValueError("level is between 0 and 1")
    tail = (1 - level) / 2
    return beta_quantile(tail, alpha, beta), beta_quantile(1 - tail, alpha, beta)


def posterior(successes: int, failures: int, level: float = LEVEL) -> Posterior:
    """The posterior of a success rate from a uniform prior, with its credible interval."""
    alpha, beta = 1 + successes, 1 + failures
    lower, upper = credible_interval(alpha, beta, level)
    return Posterior(
        alpha=alpha, beta=beta, mean=alpha / (alpha + beta), lower=lower, upper=upper, level=level
    )


def record_of(action: Mapping[str, Any]) -> ActionStats:
    """An action's record as the planner and the learning step read it."""
    return ActionStats(
        successes=int(action.get("successes") or 0),
        failures=int(action.get("failures") or 0),
        impact_sum=float(action.get("impact_sum") or 0),
        impact_count=int(action.get("impact_count") or 0),
    )


def _rate(successes: int, failures: int) -> float | None:
    """Successes over the outcomes learnt: an attempt still awaiting its outcome (an execution
    counts when it starts) is neither a success nor a failure yet."""
    learnt = successes + failures
    return successes / learnt if learnt else None


def _awaiting(attempts: int, successes: int, failures: int) -> int:
    return max(0, attempts - successes - failures)


def _outcomes(actions: Sequence[Mapping[str, Any]]) -> Outcomes:
    attempts = sum(int(a.get("attempts") or 0) for a in actions)
    successes = sum(int(a.get("successes") or 0) for a in actions)
    failures = sum(int(a.get("failures") or 0) for a in actions)
    return Outcomes(
        actions=len(actions),
        active_actions=sum(1 for a in actions if a.get("is_active")),
        attempts=attempts,
        successes=successes,
        failures=failures,
        awaiting_outcome=_awaiting(attempts, successes, failures),
        success_rate=_rate(successes, failures),
    )


def statistics(workspace_id: str, actions: Sequence[Mapping[str, Any]]) -> ExecutorStatistics:
    """Totals over the workspace's actions, and for every goal type over the actions serving it."""
    return ExecutorStatistics(
        workspace_id=workspace_id,
        totals=_outcomes(actions),
        by_goal_type={t: _outcomes([a for a in actions if t in a.get("goal_types", ())]) for t in GoalType},
    )


def _insight(action: Mapping[str, Any], level: float) -> ActionInsight:
    record = record_of(action)
    attempts = int(action.get("attempts") or 0)
    return ActionInsight(
        action_id=action["id"],
        name=action["name"],
        kind=action["kind"],
        goal_types=action.get("goal_types", []),
        is_active=bool(action.get("is_active")),
        attempts=attempts,
        successes=record.successes,
        failures=record.failures,
        awaiting_outcome=_awaiting(attempts, record.successes, record.failures),
        success_rate=_rate(record.successes, record.failures),
        mean_impact=record.mean_impact,
        impact_count=record.impact_count,
        last_outcome_at=action.get("last_outcome_at"),
        posterior=posterior(record.successes, record.failures, level),
    )


def insights(
    workspace_id: str, actions: Sequence[Mapping[str, Any]], level: float = LEVEL
) -> ExecutorInsights:
    """Each action's record and posterior, the best posterior mean first; the success rates of the
    actions tried, by name; and the actions that failed, the most failures first."""
    rows = sorted((_insight(a, level) for a in actions), key=lambda r: (-r.posterior.mean, r.name))
    failing = sorted((r for r in rows if r.failures), key=lambda r: (-r.failures, r.name))
    return ExecutorInsights(
        workspace_id=workspace_id,
        actions=rows,
        action_success_rates={
            r.name: SuccessRate(rate=r.success_rate, attempts=r.attempts)
            for r in rows
            if r.success_rate is not None
        },
        common_failures=[CommonFailure(action=r.name, count=r.failures) for r in failing[:COMMON_FAILURES]],
    )
