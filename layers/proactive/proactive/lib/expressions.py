"""Monitor conditions: small boolean expressions over named values, evaluated safely.

    value > 150
    value > 150 and change_pct > 5
    price < 100 or not in_stock
    status == "down"

The text is parsed with Python's own grammar, then only a whitelist of node types is accepted
(comparisons, and/or/not, + - * / %, numbers, strings, booleans, None and names). Evaluation walks
that tree itself: there is no `eval`, no calls, no attribute or item access, and the size of the
expression and of every number it makes is bounded. Every failure is an ExpressionError.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

MAX_CHARS = 500
MAX_NODES = 100
MAX_ABS_NUMBER = 1e15
MAX_STRING = 1000


class ExpressionError(ValueError):
    """An expression that cannot be parsed, uses something not allowed, or cannot be evaluated."""


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_ALLOWED = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Compare,
    ast.BinOp,
    ast.Name,
    ast.Load,
    ast.Constant,
    *_COMPARE,
    *_ARITH,
)


class Expression:
    """A parsed, checked condition. `names` are the value names it reads."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("condition is empty")
        if len(text) > MAX_CHARS:
            raise ExpressionError(f"condition is longer than {MAX_CHARS} characters")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SyntaxWarning)  # e.g. "1x": refused below anyway
                tree = ast.parse(text.strip(), mode="eval")
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise ExpressionError(_explain(text.strip(), exc)) from None
        nodes = list(ast.walk(tree))
        if len(nodes) > MAX_NODES:
            raise ExpressionError(f"condition has more than {MAX_NODES} parts")
        for node in nodes:
            if not isinstance(node, _ALLOWED):
                raise ExpressionError(f"condition may not use {_describe(node)}")
            if isinstance(node, ast.Constant):
                if not (node.value is None or isinstance(node.value, bool | int | float | str)):
                    raise ExpressionError(f"condition may not use the constant {node.value!r}")
                _number(node.value)
        self.text = text.strip()
        self._tree = tree.body
        self.names = frozenset(n.id for n in nodes if isinstance(n, ast.Name))

    def check_names(self, known: set[str] | frozenset[str]) -> None:
        unknown = sorted(self.names - set(known))
        if unknown:
            raise ExpressionError(f"condition uses unknown name(s) {unknown}; available: {sorted(known)}")

    def evaluate(self, values: Mapping[str, Any]) -> bool:
        """True or False. A comparison with a missing value (None) is False, not an error."""
        result = _eval(self._tree, values)
        return bool(result) if result is not None else False


_WITH_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?!(?:and|or|not|in|is)\b)([A-Za-z%]+)")
_WORDS = re.compile(r"\b(?!(?:and|or|not)\b)[A-Za-z_]\w*\s+(?!(?:and|or|not)\b)[A-Za-z_]\w*")
_COMPARISON = re.compile(r"(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)")


def _explain(text: str, exc: BaseException) -> str:
    """Why a condition does not parse, in terms of what the person probably meant."""
    hints = []
    if _WORDS.search(text):
        comparison = _COMPARISON.search(text)
        example = f"value {comparison.group(1)} {comparison.group(2)}" if comparison else "value > 150"
        hints.append(
            f"condition {text!r} is free text, not an expression over named values: compare the values "
            f"the source gives by name, e.g. `{example}` (names: value, previous, change_pct, and the "
            "keys of an object `select`)"
        )
    unit = _WITH_UNIT.search(text)
    if unit:
        number, suffix = unit.groups()
        hints.append(
            f"{unit.group(0)!r} is a number with a unit: write the number alone ({number}), in the unit "
            f"the value is measured in, without {suffix!r}"
        )
    if hints:
        return "; ".join(hints)
    return f"condition is not a valid expression: {getattr(exc, 'msg', exc)}"


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Call: "function calls",
        ast.Attribute: "attribute access",
        ast.Subscript: "indexing",
        ast.Lambda: "lambdas",
        ast.Pow: "'**'",
        ast.FloorDiv: "'//'",
    }
    for kind, text in kinds.items():
        if isinstance(node, kind):
            return text
    return f"'{type(node).__name__}'"


def _number(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise ExpressionError("arithmetic produced a value that is not a finite number")
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_ABS_NUMBER:
        raise ExpressionError(f"numbers are limited to ±{MAX_ABS_NUMBER:g}")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ExpressionError(f"strings are limited to {MAX_STRING} characters")
    return value


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in values:
            raise ExpressionError(f"no value named {node.id!r}")
        value = values[node.id]
        if value is not None and not isinstance(value, bool | int | float | str):
            raise ExpressionError(f"{node.id!r} is not a number, string or boolean")
        return value
    if isinstance(node, ast.BoolOp):
        results = [_eval(v, values) for v in node.values]
        truths = [bool(r) if r is not None else False for r in results]
        return all(truths) if isinstance(node.op, ast.And) else any(truths)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        if isinstance(node.op, ast.Not):
            return not (bool(operand) if operand is not None else False)
        if operand is None:
            return None
        if not isinstance(operand, int | float) or isinstance(operand, bool):
            raise ExpressionError("'-' and '+' apply to numbers only")
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if left is None or right is None:
            return None
        # Numbers only: string repetition or '%' formatting could allocate without bound.
        for operand in (left, right):
            if not isinstance(operand, int | float) or isinstance(operand, bool):
                raise ExpressionError(f"arithmetic applies to numbers only, not {type(operand).__name__}")
        try:
            return _number(_ARITH[type(node.op)](left, right))
        except ZeroDivisionError:
            return None
        except (OverflowError, ValueError) as exc:
            raise ExpressionError(f"arithmetic failed: {exc}") from None
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, values)
            if left is None or right is None:
                if type(op) in (ast.Eq, ast.NotEq):
                    outcome = _COMPARE[type(op)](left, right)
                else:
                    return None
            else:
                try:
                    outcome = _COMPARE[type(op)](left, right)
                except TypeError:
                    raise ExpressionError(
                        f"cannot compare {type(left).__name__} with {type(right).__name__}"
                    ) from None
            if not outcome:
                return False
            left = right
        return True
    raise ExpressionError(f"condition may not use {_describe(node)}")
