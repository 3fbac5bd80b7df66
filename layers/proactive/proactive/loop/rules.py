"""The rules a workspace sets for the goal loop: a metric, what should hold for it, and how to watch it.

The rule's kind says which goals it can set:

- `threshold`, e.g. `cpu_usage <= 80`, a limit not to cross: a forecast breach within
  `horizon_hours` sets BOTTLENECK_PREVENTION; one further ahead but within `capacity_hours`
  (slow growth) sets CAPACITY_PLANNING; with `underused_at`, a metric that stayed past that
  level on the safe side for `underused_hours` sets RESOURCE_OPTIMIZATION.
- `target`, e.g. `p95_latency_ms <= 200`, a performance objective: missing it now, a forecast
  miss within the horizon, or an anomaly towards the limit sets PERFORMANCE_TARGET.
- `slo`, e.g. `availability >= 99.9`, a service level: a breach the forecast's interval makes
  plausible within the horizon, or an anomaly towards the limit, sets SLA_MAINTENANCE.
- `cost`, e.g. `daily_cost_usd` or `daily_cost_usd <= 500` (a budget): a forecast rising by
  `min_rise_pct` over the horizon, or crossing the budget, sets COST_REDUCTION.
- `pattern`, e.g. `cpu_usage <= 80`: a recurring peak of the metric due within the horizon sets
  PATTERN_ADAPTATION, to keep the condition through it.

`goal_type` restricts a rule to one of the goal types its kind can set. As text a rule reads
`[kind] metric [operator value] [option=value ...]`, the kind defaulting to threshold:
`cpu_usage <= 80 underused_at=20`, `slo availability >= 99.9 severity=high`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from numbers import Real
from typing import Any, Literal

from proactive.errors import InvalidInput
from proactive.models.common import GoalType

RuleKind = Literal["threshold", "target", "slo", "cost", "pattern"]
Operator = Literal["<=", ">=", "<", ">"]
Severity = Literal["low", "medium", "high", "critical"]

KINDS: tuple[RuleKind, ...] = ("threshold", "target", "slo", "cost", "pattern")
OPERATORS: tuple[Operator, ...] = ("<=", ">=", "<", ">")
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")

GOAL_TYPES_BY_KIND: dict[RuleKind, tuple[GoalType, ...]] = {
    "threshold": (
        GoalType.BOTTLENECK_PREVENTION,
        GoalType.CAPACITY_PLANNING,
        GoalType.RESOURCE_OPTIMIZATION,
    ),
    "target": (GoalType.PERFORMANCE_TARGET,),
    "slo": (GoalType.SLA_MAINTENANCE,),
    "cost": (GoalType.COST_REDUCTION,),
    "pattern": (GoalType.PATTERN_ADAPTATION,),
}

# Metric and resource names: no spaces, so a rule reads unambiguously as text.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:/-]{0,127}")
# Forecasts reach at most 10,000 steps: 30 days is within that at five-minute steps.
_MAX_HOURS = 720.0
# Options that only some kinds read; setting one on another kind is a mistake worth naming.
_KIND_OPTIONS: dict[str, tuple[RuleKind, ...]] = {
    "capacity_hours": ("threshold",),
    "underused_at": ("threshold",),
    "underused_hours": ("threshold",),
    "anomaly_score": ("target", "slo"),
    "min_rise_pct": ("cost",),
    "min_confidence": ("pattern",),
}


def _number(value: float) -> str:
    """A number as short as it can be written and read back exactly."""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


@dataclass(frozen=True)
class Target:
    """What should hold for a metric: `cpu_usage <= 80` keeps it at or below 80."""

    metric: str
    operator: Operator
    value: float

    @property
    def upper(self) -> bool:
        """True when the value is a ceiling (`<=`, `<`), False when it is a floor."""
        return self.operator in ("<=", "<")

    def holds(self, x: float) -> bool:
        if self.operator == "<=":
            return x <= self.value
        if self.operator == "<":
            return x < self.value
        if self.operator == ">=":
            return x >= self.value
        return x > self.value

    def __str__(self) -> str:
        return f"{self.metric} {self.operator} {_number(self.value)}"


@dataclass(frozen=True)
class Rule:
    """One rule; constructing it validates it (InvalidInput naming the field). See the module doc."""

    metric: str
    kind: RuleKind = "threshold"
    operator: Operator | None = None
    value: float | None = None
    goal_type: GoalType | None = None
    severity: Severity = "medium"
    horizon_hours: float = 6.0
    capacity_hours: float = 168.0
    underused_at: float | None = None
    underused_hours: float = 24.0
    anomaly_score: float = 0.9
    min_rise_pct: float = 10.0
    min_confidence: float = 0.5
    # Goals on the same resource are carried out one after another; by default the metric.
    resource: str | None = None

    def __post_init__(self) -> None:
        self._store_numbers()
        self._check_condition()
        self._check_options()
        self._check_underused_at()
        self._check_goal_type()

    def _store_numbers(self) -> None:
        for name in _NUMBERS:
            number = getattr(self, name)
            if number is not None:
                _require(
                    _is_number(number),
                    name,
                    f"{name} must be a number",
                )
                # Stored as float, so equal rules compare and print alike whichever way they came.
                object.__setattr__(self, name, float(number))

    def _check_condition(self) -> None:
        """The metric, the kind, and the condition the kind needs."""
        _require(isinstance(self.metric, str) and bool(_NAME.fullmatch(self.metric)), "metric", _NAME_HELP)
        _require(self.kind in KINDS, "kind", f"kind must be one of {', '.join(KINDS)}")
        _require(self.operator in (*OPERATORS, None), "operator", f"use one of {', '.join(OPERATORS)}")
        _require(
            (self.operator is None) == (self.value is None),
            "value" if self.operator else "operator",
            "operator and value go together, as in 'cpu_usage <= 80'",
        )
        _require(self.value is None or math.isfinite(self.value), "value", "value must be a finite number")
        if self.kind != "cost":
            _require(
                self.operator is not None,
                "operator",
                f"a {self.kind} rule needs a condition, as in '{self.metric} <= 80'",
            )
        elif self.operator is not None:
            _require(
                self.operator in ("<=", "<"), "operator", "a cost rule's budget is a ceiling: use <= or <"
            )

    def _check_options(self) -> None:
        """The options: set only on the kinds that read them, each within its range."""
        for name, kinds in _KIND_OPTIONS.items():
            if getattr(self, name) != _DEFAULTS[name] and self.kind not in kinds:
                raise InvalidInput(f"{name} applies to {' and '.join(kinds)} rules only", field=name)
        _require(self.severity in SEVERITIES, "severity", f"severity must be one of {', '.join(SEVERITIES)}")
        for name in ("horizon_hours", "capacity_hours", "underused_hours"):
            hours = getattr(self, name)
            _require(0 < hours <= _MAX_HOURS, name, f"{name} must be more than 0 and at most {_MAX_HOURS:g}")
        _require(
            self.capacity_hours >= self.horizon_hours,
            "capacity_hours",
            "capacity_hours must be at least horizon_hours",
        )
        _require(0 < self.anomaly_score <= 1, "anomaly_score", "anomaly_score must be in (0, 1]")
        _require(0 < self.min_rise_pct <= 1000, "min_rise_pct", "min_rise_pct must be in (0, 1000]")
        _require(0 <= self.min_confidence <= 1, "min_confidence", "min_confidence must be in [0, 1]")
        _require(self.resource is None or bool(_NAME.fullmatch(self.resource)), "resource", _NAME_HELP)

    def _check_underused_at(self) -> None:
        if self.underused_at is not None:
            target = self.target
            _require(
                math.isfinite(self.underused_at)
                and target is not None
                and target.holds(self.underused_at)
                and self.underused_at != target.value,
                "underused_at",
                f"underused_at must lie on the safe side of {target}",
            )

    def _check_goal_type(self) -> None:
        if self.goal_type is not None:
            allowed = GOAL_TYPES_BY_KIND[self.kind]
            _require(
                self.goal_type in allowed,
                "goal_type",
                f"a {self.kind} rule sets {' or '.join(allowed)} goals",
            )
            _require(
                self.goal_type != GoalType.RESOURCE_OPTIMIZATION or self.underused_at is not None,
                "underused_at",
                "RESOURCE_OPTIMIZATION needs underused_at, the level of an idle resource",
            )

    @property
    def target(self) -> Target | None:
        if self.operator is None or self.value is None:
            return None
        return Target(self.metric, self.operator, self.value)

    @property
    def condition(self) -> str:
        """What the rule watches, e.g. `threshold cpu_usage <= 80`: the goals' identity, unchanged
        when options such as severity are edited."""
        target = self.target
        return f"{self.kind} {target if target else self.metric}"

    @property
    def goal_types(self) -> tuple[GoalType, ...]:
        if self.goal_type is not None:
            return (self.goal_type,)
        types = GOAL_TYPES_BY_KIND[self.kind]
        if self.underused_at is None:
            return tuple(t for t in types if t != GoalType.RESOURCE_OPTIMIZATION)
        return types

    @property
    def resource_name(self) -> str:
        return self.resource or self.metric

    def __str__(self) -> str:
        """The rule as text that `parse_rule` reads back to an equal rule."""
        options = []
        for name in _DEFAULTS:
            value = getattr(self, name)
            if value != _DEFAULTS[name]:
                options.append(f"{name}={_number(value) if isinstance(value, float) else value}")
        return " ".join([self.condition, *options])


_NAME_HELP = "names start with a letter or _ and hold letters, digits and _ . : / - (at most 128)"
_CONDITION_FIELDS = ("metric", "kind", "operator", "value")
_DEFAULTS: dict[str, object] = {f.name: f.default for f in fields(Rule) if f.name not in _CONDITION_FIELDS}
_NUMBERS = (
    "value",
    "horizon_hours",
    "capacity_hours",
    "underused_at",
    "underused_hours",
    "anomaly_score",
    "min_rise_pct",
    "min_confidence",
)


# Written by mistake for an operator; named as such rather than read as a malformed option.
_NOT_OPERATORS = frozenset({"=", "==", "=<", "=>", "!="})


def _require(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise InvalidInput(message, field=field)


def parse_rule(spec: str | Mapping[str, object]) -> Rule:
    """A rule from its text (`cpu_usage <= 80 severity=high`) or a mapping of Rule's fields.

    Raises InvalidInput naming the field at fault.
    """
    if isinstance(spec, str):
        return _from_mapping(_text_fields(spec))
    if not isinstance(spec, Mapping):
        raise InvalidInput("a rule is text such as 'cpu_usage <= 80' or an object", field="rule")
    return _from_mapping(spec)


def _text_fields(text: str) -> dict[str, object]:
    # Operators may touch their operands ("cpu_usage<=80"); options never contain < or >.
    tokens = re.sub(r"(<=|>=|==|=<|=>|<|>)", r" \1 ", text).split()
    if not tokens:
        raise InvalidInput("the rule is empty; write e.g. 'cpu_usage <= 80'", field="rule")
    found: dict[str, object] = {}
    # A kind word is a kind only when a metric follows it: in "cost <= 100", cost is the metric.
    if tokens[0] in KINDS and len(tokens) > 1 and tokens[1] not in OPERATORS and "=" not in tokens[1]:
        found["kind"] = tokens.pop(0)
    found["metric"] = tokens.pop(0)
    if tokens and tokens[0] in _NOT_OPERATORS:
        raise InvalidInput(
            f"unknown operator {tokens[0]!r}; use one of {', '.join(OPERATORS)}", field="operator"
        )
    if tokens and tokens[0] in OPERATORS:
        found["operator"] = tokens.pop(0)
        if not tokens:
            raise InvalidInput(f"a value must follow {found['operator']}", field="value")
        found["value"] = tokens.pop(0)
    for token in tokens:
        name, sep, raw = token.partition("=")
        if not sep or not name or not raw:
            raise InvalidInput(f"expected option=value after the condition, got {token!r}", field="rule")
        if name in _CONDITION_FIELDS or name in found:
            raise InvalidInput(f"{name} is given twice", field=name)
        found[name] = raw
    return found


def _from_mapping(spec: Mapping[str, object]) -> Rule:
    known = {f.name for f in fields(Rule)}
    for key in spec:
        if key not in known:
            raise InvalidInput(f"unknown rule field {key!r}", field=str(key))
    values: dict[str, Any] = {}
    for key, raw in spec.items():
        if raw is None:
            values[key] = None
        elif key in _NUMBERS:
            values[key] = _to_float(key, raw)
        elif key == "goal_type":
            values[key] = _to_goal_type(raw)
        elif not isinstance(raw, str):
            raise InvalidInput(f"{key} must be a string", field=key)
        else:
            values[key] = raw
    if "metric" not in values or values["metric"] is None:
        raise InvalidInput("a rule needs a metric", field="metric")
    return Rule(**values)


def _is_number(x: object) -> bool:
    # Decimal is how DynamoDB hands numbers back.
    return isinstance(x, Real | Decimal) and not isinstance(x, bool)


def _to_float(key: str, raw: object) -> float:
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            raise InvalidInput(f"{key} must be a number, got {raw!r}", field=key) from None
    if isinstance(raw, Real | Decimal) and not isinstance(raw, bool):
        return float(raw)
    raise InvalidInput(f"{key} must be a number", field=key)


def _to_goal_type(raw: object) -> GoalType:
    try:
        return GoalType(str(raw).upper())
    except ValueError:
        raise InvalidInput(
            f"goal_type must be one of {', '.join(GoalType)}, got {raw!r}", field="goal_type"
        ) from None


def forecast_horizons(rules: Iterable[Rule]) -> dict[str, float]:
    """Per metric, in seconds, how far ahead its forecast must reach for every rule that reads it."""
    horizons: dict[str, float] = {}
    for rule in rules:
        types = rule.goal_types
        if rule.kind == "pattern" or types == (GoalType.RESOURCE_OPTIMIZATION,):
            continue  # patterns and idle resources are read from the points alone
        hours = rule.capacity_hours if GoalType.CAPACITY_PLANNING in types else rule.horizon_hours
        horizons[rule.metric] = max(horizons.get(rule.metric, 0.0), hours * 3600.0)
    return horizons
