"""The planner: which action serves each goal, and when it runs.

Action: Thompson sampling. Each candidate action (one that serves the goal's type) draws a
success rate from its Beta(1 + successes, 1 + failures) posterior, weighted by 1 + its mean
impact where impacts were measured; the highest draw wins. An action with a good record wins
most draws, and one with little record still wins some, so it keeps being tried.

Strategy, the first that applies:

- IMMEDIATE: a critical goal, or one due within the hour. Acts now.
- ADAPTIVE: the metric varied more than the re-plan tolerance within the last hour. Waits for
  the best time like SCHEDULED, and `should_replan` says at execution whether the metric has
  moved more than the tolerance since planning, so the plan is made again on fresh numbers.
- SCHEDULED: waits for the metric's quiet hour (the hour of day with the lowest mean, when the
  hour of day clearly shapes the metric) if one comes before the goal's deadline; else acts at
  the deadline, which leaves a margin of half the time left (at least an hour) before the goal
  is due: acting late lets the next analyses confirm the forecast, the margin leaves time for
  approval and for the action itself.
- COLLABORATIVE: another goal works on the same resource (metric or resource tag). The goals
  run in sequence, the more pressing first; each later one runs `after` the one before, and is
  re-planned like an ADAPTIVE one if the earlier action moved the metric.

At most `max_concurrent_goals` plans run at once: plans are laid out in that many lanes, most
pressing first, goals already running taking theirs; a plan beyond them runs after the last plan
of the shortest lane, and goals on one resource share a lane.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

import numpy as np

from proactive.errors import InvalidInput
from proactive.loop.goals import Goal, MetricView
from proactive.loop.timing import HOUR, Point, next_local_hour, zone_info
from proactive.models.common import GoalType

REPLAN_TOLERANCE = 0.10
_IMMINENT_SECONDS = HOUR
_MIN_MARGIN_SECONDS = HOUR
# The quiet hour needs two days of data, and hour of day must explain the metric's variation far
# beyond chance: an F statistic of 3, where 1% of patternless series exceed about 1.8.
_QUIET_MIN_DAYS = 2
_QUIET_MIN_F = 3.0
# Mean impacts weight a draw by at most twice and at least a tenth, so one outlying measurement
# cannot decide alone and a harmful record still leaves the action a small chance.
_IMPACT_RANGE = (-0.9, 1.0)


class Strategy(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    SCHEDULED = "SCHEDULED"
    ADAPTIVE = "ADAPTIVE"
    COLLABORATIVE = "COLLABORATIVE"


@dataclass(frozen=True)
class ActionStats:
    """What an action's record has taught: outcomes, and the sum and count of measured impacts."""

    successes: int = 0
    failures: int = 0
    impact_sum: float = 0.0
    impact_count: int = 0

    @property
    def mean_impact(self) -> float | None:
        return self.impact_sum / self.impact_count if self.impact_count else None


@dataclass(frozen=True)
class Action:
    """An action handler that can serve goals of `goal_types`."""

    id: str
    name: str
    goal_types: frozenset[GoalType]
    requires_approval: bool = False
    stats: ActionStats = ActionStats()


@dataclass(frozen=True)
class Choice:
    """The action drawn for a goal, its draw, and every candidate's draw (by action id)."""

    action: Action
    sample: float
    samples: dict[str, float]


@dataclass(frozen=True)
class Plan:
    """What to do for one goal and when: not before `wait_until`, and not before goal `after` is done.

    `planned_value` is the metric's latest value when planned, which `should_replan` compares with.
    """

    goal_id: str
    action_id: str | None
    strategy: Strategy
    wait_until: float
    after: str | None
    sample: float | None
    requires_approval: bool
    planned_value: float | None
    reason: str


def choose_action(goal_type: GoalType, actions: Sequence[Action], rng: np.random.Generator) -> Choice | None:
    """Thompson sampling among the actions serving `goal_type`; None when none does."""
    candidates = sorted((a for a in actions if goal_type in a.goal_types), key=lambda a: a.id)
    if not candidates:
        return None
    samples: dict[str, float] = {}
    for action in candidates:
        stats = action.stats
        rate = float(rng.beta(1 + stats.successes, 1 + stats.failures))
        impact = stats.mean_impact
        weight = 1.0 if impact is None else 1.0 + min(max(impact, _IMPACT_RANGE[0]), _IMPACT_RANGE[1])
        samples[action.id] = rate * weight
    best = max(candidates, key=lambda a: samples[a.id])
    return Choice(best, samples[best.id], samples)


def plan_goals(
    goals: Sequence[Goal],
    actions: Sequence[Action],
    metrics: Mapping[str, MetricView],
    rng: np.random.Generator,
    now: float,
    *,
    max_concurrent_goals: int = 3,
    running: Sequence[Goal] = (),
    timezone: str = "UTC",
    replan_tolerance: float = REPLAN_TOLERANCE,
) -> list[Plan]:
    """One plan per active goal in `goals`, most pressing first. `running` are goals whose actions
    are under way: they hold their slots and their resources."""
    _check_concurrency(max_concurrent_goals)
    zone = zone_info(timezone)
    lanes: list[list[str]] = []
    lane_of: dict[str, int] = {}
    for goal in running:
        _enter(lanes, lane_of, goal, lane_of.get(goal.resource))
    plans = []
    for goal in sorted((g for g in goals if g.status == "active"), key=_urgency_order):
        view = metrics.get(goal.metric, MetricView(points=()))
        strategy, wait_until, why = _timing(goal, view.points, now, zone, replan_tolerance)
        latest = _latest(view.points, now)
        choice = choose_action(goal.type, actions, rng)
        if choice is None:
            reason = f"No action serves {goal.type} goals; add one to act on this goal."
            plans.append(Plan(goal.id, None, strategy, wait_until, None, None, False, latest, reason))
            continue
        if goal.resource in lane_of:
            strategy = Strategy.COLLABORATIVE
        lane, after, note = slot(goal, lanes, lane_of, max_concurrent_goals)
        why += note
        _enter(lanes, lane_of, goal, lane)
        reason = f"{strategy}: {why}. {_explain(choice)}"
        action = choice.action
        plans.append(
            Plan(
                goal_id=goal.id,
                action_id=action.id,
                strategy=strategy,
                wait_until=wait_until,
                after=after,
                sample=choice.sample,
                requires_approval=action.requires_approval,
                planned_value=latest,
                reason=reason,
            )
        )
    return plans


def _check_concurrency(max_concurrent_goals: int) -> None:
    if isinstance(max_concurrent_goals, bool) or not isinstance(max_concurrent_goals, int):
        raise InvalidInput("max_concurrent_goals must be a whole number", field="max_concurrent_goals")
    if max_concurrent_goals < 1:
        raise InvalidInput("max_concurrent_goals must be at least 1", field="max_concurrent_goals")


def slot(
    goal: Goal, lanes: Sequence[Sequence[str]], lane_of: Mapping[str, int], max_concurrent_goals: int
) -> tuple[int | None, str | None, str]:
    """Where a goal's action runs: the lane it joins (None: a lane of its own), the goal it runs
    after, and why it waits. A goal whose resource a lane works on already joins that lane; when
    every one of `max_concurrent_goals` lanes is taken, it joins the shortest."""
    shared = lane_of.get(goal.resource)
    if shared is not None:
        after = lanes[shared][-1]
        return shared, after, f"; runs after goal {after}, which works on {goal.resource} too"
    if len(lanes) >= max_concurrent_goals:
        lane = min(range(len(lanes)), key=lambda i: (len(lanes[i]), i))
        after = lanes[lane][-1]
        return (
            lane,
            after,
            f"; max_concurrent_goals={max_concurrent_goals} are taken, so it runs after goal {after}",
        )
    return None, None, ""


def should_replan(plan: Plan, latest_value: float, *, tolerance: float = REPLAN_TOLERANCE) -> bool:
    """Whether the plan's metric has moved more than `tolerance` (relative) since planning.

    Only ADAPTIVE plans and COLLABORATIVE ones (whose resource an earlier goal's action may have
    changed) are re-planned; the others act on the plan as made.
    """
    if plan.strategy not in (Strategy.ADAPTIVE, Strategy.COLLABORATIVE) or plan.planned_value is None:
        return False
    if plan.planned_value == 0:
        return latest_value != 0
    return abs(latest_value - plan.planned_value) / abs(plan.planned_value) > tolerance


def quiet_hour(points: Sequence[Point], zone: ZoneInfo) -> int | None:
    """The local hour of day with the lowest mean, when the hour of day clearly shapes the metric.

    None with under two days of data, an hour never observed, or no clear daily shape.
    """
    if len(points) < 2 or max(t for t, _ in points) - min(t for t, _ in points) < _QUIET_MIN_DAYS * 24 * HOUR:
        return None
    hours = np.array([datetime.fromtimestamp(t, zone).hour for t, _ in points])
    values = np.array([v for _, v in points], dtype=np.float64)
    counts = np.bincount(hours, minlength=24)
    if np.any(counts == 0):
        return None
    means = np.bincount(hours, weights=values, minlength=24) / counts
    between = float(np.sum(counts * (means - values.mean()) ** 2)) / 23
    within = float(np.sum((values - means[hours]) ** 2)) / max(values.size - 24, 1)
    if between == 0 or (within > 0 and between / within < _QUIET_MIN_F):
        return None
    return int(np.argmin(means))


def volatility(points: Sequence[Point], now: float) -> float | None:
    """Robust relative spread of the last hour's values: 1.4826 MAD over |median|.

    None with fewer than three points, or a median of zero (relative spread means nothing there).
    """
    recent = [v for t, v in points if now - HOUR <= t <= now]
    if len(recent) < 3:
        return None
    middle = statistics.median(recent)
    if middle == 0:
        return None
    mad = statistics.median(abs(v - middle) for v in recent)
    return 1.4826 * mad / abs(middle)


def _timing(
    goal: Goal, points: Sequence[Point], now: float, zone: ZoneInfo, tolerance: float
) -> tuple[Strategy, float, str]:
    """The goal's own strategy, when it should act, and why."""
    if goal.priority_label == "critical":
        return Strategy.IMMEDIATE, now, f"critical priority ({goal.priority:g})"
    if goal.due_at is not None and goal.due_at - now <= _IMMINENT_SECONDS:
        return Strategy.IMMEDIATE, now, f"due within the hour ({(goal.due_at - now) / 60:.0f} min)"
    wait_until, when = _best_time(goal, points, now, zone)
    spread = volatility(points, now)
    if spread is not None and spread > tolerance:
        return (
            Strategy.ADAPTIVE,
            wait_until,
            f"{goal.metric} varied {spread:.0%} within the last hour (over the {tolerance:.0%} re-plan "
            f"tolerance), so it is re-planned if it moves more than that before acting; {when}",
        )
    return Strategy.SCHEDULED, wait_until, when


def _best_time(goal: Goal, points: Sequence[Point], now: float, zone: ZoneInfo) -> tuple[float, str]:
    deadline = None
    if goal.due_at is not None:
        deadline = max(now, goal.due_at - max(_MIN_MARGIN_SECONDS, (goal.due_at - now) / 2))
    hour = quiet_hour(points, zone)
    if hour is not None:
        start = max(now, next_local_hour(now, hour, zone))
        if deadline is None or start <= deadline:
            return start, f"waits for {goal.metric}'s quiet hour, {hour:02d}:00 {zone}"
    if deadline is not None:
        margin = (goal.due_at or now) - deadline
        return deadline, f"acts {margin / HOUR:.1f} h before the goal is due, leaving a margin"
    return now, "no quieter time is known, so it acts now"


def _enter(lanes: list[list[str]], lane_of: dict[str, int], goal: Goal, lane: int | None) -> None:
    if lane is None:
        lanes.append([])
        lane = len(lanes) - 1
    lanes[lane].append(goal.id)
    lane_of[goal.resource] = lane


def _urgency_order(goal: Goal) -> tuple[float, float, str]:
    return (-goal.priority, float("inf") if goal.due_at is None else goal.due_at, goal.id)


def _latest(points: Sequence[Point], now: float) -> float | None:
    past = [(t, v) for t, v in points if t <= now]
    return max(past)[1] if past else None


def _explain(choice: Choice) -> str:
    stats = choice.action.stats
    impact = stats.mean_impact
    record = f"{stats.successes} successes, {stats.failures} failures"
    if impact is not None:
        record += f", mean impact {impact:+.1%}"
    others = ", ".join(f"{aid} {s:.2f}" for aid, s in choice.samples.items() if aid != choice.action.id)
    return f"Action '{choice.action.name}' drew {choice.sample:.2f} ({record})" + (
        f" against {others}." if others else ", the only candidate."
    )
