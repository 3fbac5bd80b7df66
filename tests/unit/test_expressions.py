"""Monitor conditions: evaluated safely, failing only with ExpressionError."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.lib.expressions import Expression, ExpressionError


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("value > 150", {"value": 151}, True),
        ("value > 150", {"value": 150}, False),
        ("value > 150 and change_pct > 5", {"value": 160, "change_pct": 6.5}, True),
        ("value > 150 and change_pct > 5", {"value": 160, "change_pct": None}, False),  # first check
        ("not (value >= 10) or value == 42", {"value": 42}, True),
        ("100 < value <= 200", {"value": 200}, True),
        ("status == 'down'", {"status": "down"}, True),
        ("value * 2 - 1 > 10 % 3", {"value": 1.5}, True),
        ("value / 0 > 1", {"value": 3}, False),
        ("previous == None", {"previous": None}, True),
    ],
)
def test_conditions(text: str, values: dict[str, Any], expected: bool) -> None:
    assert Expression(text).evaluate(values) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AAPL stock price > 150", "free text, not an expression over named values.*`value > 150`"),
        ("value > 500ms", "number with a unit: write the number alone \\(500\\)"),
        ("__import__('os').system('id')", "function calls"),
        ("value.__class__", "attribute access"),
        ("value[0] > 1", "indexing"),
        ("2 ** 99999999", r"'\*\*'"),
        ("[x for x in value]", "'ListComp'"),
        ("value if value else 0", "'IfExp'"),
        ("(lambda: 1)()", "function calls"),
        ("1" * 20 + " > value", "numbers are limited"),
        ("value > 1 and " * 60 + "True", "longer than 500"),
        ("", "empty"),
    ],
)
def test_refused_at_parse_time(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        Expression(text)


def test_names_are_checked_against_what_the_source_provides() -> None:
    with pytest.raises(ExpressionError, match=r"unknown name\(s\) \['price'\]"):
        Expression("price > 1").check_names({"value", "previous", "change_pct"})


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("value > 1", {"value": "abc"}, "cannot compare str with int"),
        ("value * 3 > 1", {"value": "abc"}, "numbers only"),
        ("value > 1", {}, "no value named 'value'"),
        ("value > 1", {"value": [1, 2]}, "not a number, string or boolean"),
        ("value * 1000000000 * 1000000000 > 1", {"value": 5}, "numbers are limited"),
    ],
)
def test_evaluation_errors_say_what_went_wrong(text: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        Expression(text).evaluate(values)


class Tripwire:
    """A value that records any attempt to use it as code."""

    calls = 0

    def __call__(self, *args: Any) -> Any:
        Tripwire.calls += 1

    def __getattr__(self, name: str) -> Any:
        Tripwire.calls += 1
        raise AttributeError(name)


PIECES = [
    "value",
    "previous",
    "change_pct",
    "x",
    "(",
    ")",
    " and ",
    " or ",
    "not ",
    " > ",
    " == ",
    " < ",
    " + ",
    " * ",
    " / ",
    " % ",
    "1",
    "2.5",
    "'s'",
    "None",
    "True",
    "__import__",
    ".",
    "[",
    "]",
    "**",
    "lambda",
    ":",
    ",",
    "-",
    "open",
    "exec",
    "f'{x}'",
    "\n",
    "if",
    "else",
]


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(st.sampled_from(PIECES), max_size=25), text=st.text(max_size=40))
def test_never_raises_anything_else_and_never_runs_code(parts: list[str], text: str) -> None:
    values: dict[str, Any] = {
        "value": 3,
        "previous": None,
        "change_pct": 1.5,
        "x": Tripwire(),
        "open": Tripwire(),
        "exec": Tripwire(),
    }
    for candidate in ("".join(parts), text):
        with contextlib.suppress(ExpressionError):
            Expression(candidate).evaluate(values)
    assert Tripwire.calls == 0


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=5), st.booleans()),
    previous=st.one_of(st.none(), st.integers(), st.floats()),
)
def test_any_value_gives_a_boolean_or_expression_error(value: Any, previous: Any) -> None:
    for text in ("value > 150 and change_pct > 5", "value - previous > 1", "value == previous", "not value"):
        try:
            result = Expression(text).evaluate({"value": value, "previous": previous, "change_pct": None})
        except ExpressionError:
            continue
        assert isinstance(result, bool)
