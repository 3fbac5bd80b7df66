"""Fuzz target: monitor conditions (`proactive.lib.expressions`), parsed and evaluated.

An input is the condition on its first line, then `name=value` lines (the value read as JSON,
else as the text itself) that are added to, or replace, a few default values.

Contract, for any condition text and values:
- parsing, `check_names` and `evaluate` raise ExpressionError or return;
- `names` are identifiers, and `check_names` accepts exactly the sets that contain them;
- `evaluate` returns a bool, the same one each time, and the same for the condition parsed again
  from its own `text`;
- a condition without names or None agrees with Python on it wherever both give an answer
  (conditions are Python's grammar: they must mean what they say there).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from proactive.lib.expressions import Expression, ExpressionError
from tests.fuzz.common import expect, text_lines

DEFAULTS: dict[str, Any] = {
    "value": 200,
    "previous": 150,
    "change_pct": 33.3,
    "status": "down",
    "in_stock": True,
    "missing": None,
}


def _values(lines: list[str]) -> dict[str, Any]:
    values = dict(DEFAULTS)
    for line in lines:
        name, equals, raw = line.partition("=")
        if not equals:
            continue
        try:
            values[name.strip()] = json.loads(raw)
        except (ValueError, RecursionError):
            values[name.strip()] = raw
    return values


def _python(tree: ast.AST) -> Any:
    """What Python makes of a condition the evaluator accepted: only comparisons, boolean and
    arithmetic operators on bounded constants remain, so evaluating it here is safe."""
    code = compile(ast.Expression(body=tree), "<condition>", "eval")  # type: ignore[arg-type]
    return eval(code, {"__builtins__": {}}, {})  # noqa: S307 (a tree of constants and operators only)


def run(data: bytes) -> str:
    lines = text_lines(data)
    text, values = lines[0], _values(lines[1:])
    try:
        expression = Expression(text)
    except ExpressionError:
        return "refused"
    expect(all(n.isidentifier() for n in expression.names), f"names {expression.names} are not identifiers")
    try:
        expression.check_names(set(values))
    except ExpressionError:
        expect(not expression.names <= set(values), "check_names refused names it was given")
    else:
        expect(expression.names <= set(values), "check_names accepted a name it was not given")
    again = Expression(expression.text)
    expect(again.names == expression.names, "parsing the condition's own text gives other names")
    try:
        result = expression.evaluate(values)
    except ExpressionError:
        try:
            again.evaluate(values)
        except ExpressionError:
            return "error"
        raise AssertionError("the condition parsed again from its text evaluates where it did not") from None
    expect(type(result) is bool, f"evaluate returned {result!r}, not a bool")
    expect(expression.evaluate(values) is result, "evaluate gave another answer the second time")
    expect(again.evaluate(values) is result, "the condition parsed again from its text gives another answer")
    tree = expression._tree
    if not expression.names and not any(
        isinstance(n, ast.Constant) and n.value is None for n in ast.walk(tree)
    ):
        try:
            python = _python(tree)
        except (ArithmeticError, TypeError, ValueError):
            return str(result)
        expect(bool(python) is result, f"Python says {python!r} where the evaluator says {result}")
    return str(result)


@contextmanager
def target() -> Iterator[Callable[[bytes], str]]:
    yield run
