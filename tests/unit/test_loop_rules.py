"""Rules as a workspace writes them: text or objects, every goal type reachable, mistakes named."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.errors import InvalidInput
from proactive.loop.rules import (
    GOAL_TYPES_BY_KIND,
    KINDS,
    OPERATORS,
    SEVERITIES,
    GoalType,
    Rule,
    Target,
    forecast_horizons,
    parse_rule,
)


def test_the_seed_rule_reads_as_a_threshold_with_defaults() -> None:
    rule = parse_rule("cpu_usage <= 80")

    assert rule == Rule(metric="cpu_usage", kind="threshold", operator="<=", value=80.0)
    assert (rule.severity, rule.horizon_hours, rule.capacity_hours) == ("medium", 6.0, 168.0)
    assert rule.target == Target("cpu_usage", "<=", 80.0)
    assert rule.condition == "threshold cpu_usage <= 80"
    assert rule.goal_types == (GoalType.BOTTLENECK_PREVENTION, GoalType.CAPACITY_PLANNING)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cpu_usage<=80", Rule("cpu_usage", operator="<=", value=80)),
        (
            " slo availability >= 99.9 severity=high ",
            Rule("availability", "slo", ">=", 99.9, severity="high"),
        ),
        ("cost daily_cost_usd", Rule("daily_cost_usd", "cost")),
        ("cost daily_usd < 500 min_rise_pct=25", Rule("daily_usd", "cost", "<", 500, min_rise_pct=25)),
        # "cost" followed by an operator is the metric's name, not the kind.
        ("cost <= 100", Rule("cost", "threshold", "<=", 100)),
        ("pattern rps <= 1000 min_confidence=0.7", Rule("rps", "pattern", "<=", 1000, min_confidence=0.7)),
        ("target p95_ms <= 200 anomaly_score=0.95", Rule("p95_ms", "target", "<=", 200, anomaly_score=0.95)),
        (
            "disk_used_pct <= 90 goal_type=capacity_planning",
            Rule("disk_used_pct", operator="<=", value=90, goal_type=GoalType.CAPACITY_PLANNING),
        ),
    ],
)
def test_text_rules_parse(text: str, expected: Rule) -> None:
    assert parse_rule(text) == expected


def test_a_mapping_parses_like_text_with_numbers_as_dynamodb_returns_them() -> None:
    spec = {
        "metric": "cpu_usage",
        "kind": "threshold",
        "operator": "<=",
        "value": Decimal(80),
        "underused_at": 20,
    }

    rule = parse_rule(spec)

    assert rule == parse_rule("cpu_usage <= 80 underused_at=20")
    assert type(rule.value) is float


# Given one rule per goal type, each kind's rule can set that type.
EVERY_GOAL_TYPE = {
    GoalType.BOTTLENECK_PREVENTION: "cpu_usage <= 80",
    GoalType.CAPACITY_PLANNING: "disk_used_pct <= 90",
    GoalType.RESOURCE_OPTIMIZATION: "cpu_usage <= 80 underused_at=20",
    GoalType.PERFORMANCE_TARGET: "target p95_latency_ms <= 200",
    GoalType.SLA_MAINTENANCE: "slo availability >= 99.9",
    GoalType.COST_REDUCTION: "cost daily_cost_usd",
    GoalType.PATTERN_ADAPTATION: "pattern requests <= 1000",
}


@pytest.mark.parametrize(("goal_type", "text"), EVERY_GOAL_TYPE.items())
def test_every_goal_type_has_a_rule_that_can_set_it(goal_type: GoalType, text: str) -> None:
    assert goal_type in parse_rule(text).goal_types


def test_goal_type_restricts_a_threshold_rule_to_one_type() -> None:
    rule = parse_rule("cpu_usage <= 80 underused_at=20 goal_type=RESOURCE_OPTIMIZATION")

    assert rule.goal_types == (GoalType.RESOURCE_OPTIMIZATION,)


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ("", "rule", "empty"),
        ("cpu_usage", "operator", "needs a condition"),
        ("cpu_usage = 80", "operator", "unknown operator '='"),
        ("cpu_usage == 80", "operator", "unknown operator"),
        ("cpu_usage <=", "value", "must follow"),
        ("cpu_usage <= lots", "value", "must be a number"),
        ("cpu_usage <= nan", "value", "finite"),
        ("cpu usage <= 80", "rule", "option=value"),
        ("9cpu <= 80", "metric", "start with a letter"),
        ({"metric": "cpu\n", "operator": "<=", "value": 80}, "metric", "start with a letter"),
        ("cpu_usage <= 80 severity=urgent", "severity", "low, medium, high, critical"),
        ("cpu_usage <= 80 horizon_hours=0", "horizon_hours", "more than 0"),
        ("cpu_usage <= 80 horizon_hours=200", "capacity_hours", "at least horizon_hours"),
        ("cpu_usage <= 80 underused_at=95", "underused_at", "safe side of cpu_usage <= 80"),
        ("slo availability >= 99.9 underused_at=100", "underused_at", "threshold rules only"),
        ("target latency <= 200 min_rise_pct=5", "min_rise_pct", "cost rules only"),
        ("cost spend >= 10", "operator", "ceiling"),
        ("cpu_usage <= 80 goal_type=COST_REDUCTION", "goal_type", "BOTTLENECK_PREVENTION or"),
        ("cpu_usage <= 80 goal_type=RESOURCE_OPTIMIZATION", "underused_at", "needs underused_at"),
        ("cpu_usage <= 80 goal_type=SPEED", "goal_type", "must be one of"),
        ("cpu_usage <= 80 colour=red", "colour", "unknown rule field"),
        ("cpu_usage <= 80 severity=high severity=low", "severity", "given twice"),
        ({"kind": "slo", "operator": ">=", "value": 99}, "metric", "needs a metric"),
        ({"metric": "cpu", "operator": "<=", "value": True}, "value", "must be a number"),
        ({"metric": "cpu", "operator": "<=", "value": 80, "severity": 3}, "severity", "must be a string"),
        ({"metric": "cpu", "operator": "<="}, "value", "go together"),
        ({"metric": "cpu", "value": 80}, "operator", "go together"),
    ],
)
def test_mistakes_are_named_with_their_field(spec: str | dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_rule(spec)

    assert caught.value.field == field
    assert words in caught.value.message


def test_the_condition_identifies_the_rule_whatever_its_options() -> None:
    plain = parse_rule("cpu_usage <= 80")
    tuned = parse_rule("cpu_usage <= 80 severity=critical horizon_hours=2")

    assert plain.condition == tuned.condition
    assert plain.condition != parse_rule("cpu_usage <= 85").condition


def test_forecast_horizons_cover_every_rule_on_a_metric() -> None:
    rules = [
        parse_rule("cpu_usage <= 80 capacity_hours=72"),
        parse_rule("target cpu_usage <= 70 horizon_hours=12"),
        parse_rule("cost spend horizon_hours=48"),
        parse_rule("pattern requests <= 10"),
        parse_rule("memory <= 90 goal_type=BOTTLENECK_PREVENTION horizon_hours=3"),
        parse_rule("disk <= 90 underused_at=10 goal_type=RESOURCE_OPTIMIZATION"),
    ]

    assert forecast_horizons(rules) == {"cpu_usage": 72 * 3600.0, "spend": 48 * 3600.0, "memory": 3 * 3600.0}


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    kind = draw(st.sampled_from(KINDS))
    metric = draw(st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,20}", fullmatch=True))
    value = draw(st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False))
    operator = draw(st.sampled_from(("<=", "<") if kind == "cost" else OPERATORS))
    horizon = draw(st.floats(0.1, 100, allow_nan=False))
    options: dict[str, object] = {
        "severity": draw(st.sampled_from(SEVERITIES)),
        "horizon_hours": horizon,
        "goal_type": draw(st.none() | st.sampled_from(GOAL_TYPES_BY_KIND[kind])),
    }
    if kind == "threshold":
        options["capacity_hours"] = draw(st.floats(horizon, 720, allow_nan=False))
        gap = draw(st.floats(0.5, 100, allow_nan=False))
        options["underused_at"] = value - gap if operator in ("<=", "<") else value + gap
    if kind == "cost" and draw(st.booleans()):
        return Rule(metric, kind, **options)
    return Rule(metric, kind, operator, value, **options)


@settings(max_examples=200, deadline=None)
@given(rules())
def test_a_rule_written_as_text_reads_back_equal(rule: Rule) -> None:
    assert parse_rule(str(rule)) == rule
