"""Filters evaluated outside DynamoDB (on items read through an index that holds only keys)
agree with what DynamoDB would answer."""

from __future__ import annotations

from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, ConditionBase

from proactive.store.values import matches

ITEM: dict[str, Any] = {
    "status": "failed",
    "attempts": 3,
    "is_active": True,
    "agent_id": "agent-1",
    "config": {"event": "run.finished"},
    "tags": ["a", "b"],
    "note": None,
}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (Attr("status").eq("failed"), True),
        (Attr("status").eq("succeeded"), False),
        (Attr("status").ne("succeeded"), True),
        (Attr("attempts").gt(2) & Attr("attempts").lte(3), True),
        (Attr("attempts").lt("3"), False),  # a number and a string never compare
        (Attr("missing").eq(None), False),  # a comparison with a missing attribute is false
        (Attr("note").eq(None), True),
        (Attr("status").is_in(["queued", "failed"]), True),
        (Attr("attempts").between(1, 2), False),
        (Attr("agent_id").begins_with("agent-"), True),
        (Attr("tags").contains("b"), True),
        (Attr("config.event").eq("run.finished"), True),
        (Attr("missing").exists(), False),
        (Attr("missing").not_exists(), True),
        (Attr("is_active").eq(True) | Attr("status").eq("queued"), True),
        (~Attr("is_active").eq(True), False),
        (Attr("tags").size().eq(2), True),
    ],
)
def test_a_filter_is_evaluated_as_dynamodb_would(condition: ConditionBase, expected: bool) -> None:
    assert matches(condition, ITEM) is expected


def test_a_filter_it_cannot_evaluate_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="cannot be evaluated"):
        matches(Attr("status").attribute_type("S"), ITEM)
