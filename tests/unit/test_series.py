"""Reading metric and event bodies: each item of a batch judged on its own, named as a client
writes it (`metrics[3].value`), and a body that cannot be used at all refused whole."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proactive import series
from proactive.errors import InvalidInput
from proactive.models.series import MAX_METADATA_BYTES


def refused_fields(body: Any) -> list[tuple[int, str]]:
    return [(r["index"], r["field"]) for r in series.parse_metrics(body).refused]


def test_a_single_point_is_one_accepted_item_with_its_workspace() -> None:
    parsed = series.parse_metrics({"metric_name": "cpu_usage", "value": 75.5, "workspace_id": "ws-9"})
    assert parsed.workspace_id == "ws-9"
    assert [(i, p.metric_name, p.value, p.timestamp) for i, p in parsed.accepted] == [
        (0, "cpu_usage", 75.5, None)
    ]


def test_a_bad_single_point_is_refused_whole_naming_each_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        series.parse_metrics({"metric_name": "cpu", "value": math.inf, "timestamp": "2026-01-01T00:00:00"})
    assert caught.value.field == "value"
    assert [d["field"] for d in caught.value.details or []] == ["value", "timestamp"]
    assert "needs a UTC offset" in caught.value.message


def test_batch_items_are_judged_one_by_one() -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    batch = {
        "metrics": [
            {"metric_name": "cpu", "value": 1},
            {"metric_name": "cpu", "value": math.nan},
            {"metric_name": "cpu", "value": 1, "workspace_id": "ws-1"},
            {"metric_name": "cpu", "value": 1, "timestamp": soon},
            None,
            {"metric_name": "cpu", "value": 10**400},
        ]
    }
    assert refused_fields(batch) == [
        (1, "metrics[1].value"),
        (2, "metrics[2].workspace_id"),
        (3, "metrics[3].timestamp"),
        (4, "metrics[4]"),
        (5, "metrics[5].value"),
    ]
    assert [i for i, _ in series.parse_metrics(batch).accepted] == [0]


def test_a_point_with_several_problems_is_refused_once_saying_each() -> None:
    (refusal,) = series.parse_metrics(
        {"metrics": [{"metric_name": "cpu", "value": 1}, {"metric_name": "", "value": "x"}]}
    ).refused
    assert refusal["field"] == "metrics[1].metric_name"
    assert "metrics[1].metric_name" in refusal["message"]
    assert "metrics[1].value" in refusal["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ("cpu=1", "body"),
        ({"metrics": "cpu=1"}, "metrics"),
        ({"metrics": []}, "metrics"),
        ({"metrics": [{"metric_name": "cpu", "value": 1}] * 1001}, "metrics"),
        ({"metrics": [{"metric_name": "cpu", "value": 1}], "value": 2}, "value"),
        ({"metrics": [{"metric_name": "cpu", "value": "high"}]}, "metrics[0].value"),
    ],
)
def test_bodies_that_cannot_be_used_at_all(body: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        series.parse_metrics(body)
    assert caught.value.field == field


def test_event_metadata_must_be_a_small_json_object() -> None:
    fits = {"blob": "x" * (MAX_METADATA_BYTES - len('{"blob":""}'))}
    parsed = series.parse_events(
        {
            "events": [
                {"event_type": "login", "metadata": fits},
                {"event_type": "login", "metadata": {**fits, "more": 1}},
                {"event_type": "login", "metadata": {"x": math.nan}},
                {"event_type": "login", "metadata": [1, 2]},
                {"event_type": "log in"},
            ]
        }
    )
    assert [i for i, _ in parsed.accepted] == [0]
    assert [(r["index"], r["field"]) for r in parsed.refused] == [
        (1, "events[1].metadata"),
        (2, "events[2].metadata"),
        (3, "events[3].metadata"),
        (4, "events[4].event_type"),
    ]


good = st.integers(-(10**6), 10**6).map(lambda v: {"metric_name": "cpu", "value": v})
bad = st.sampled_from([math.nan, "1", True]).map(lambda v: {"metric_name": "cpu", "value": v})


@given(
    st.lists(st.one_of(good, bad), min_size=1, max_size=50).filter(
        lambda b: any(type(p["value"]) is int for p in b)
    )
)
def test_every_item_of_a_batch_is_either_accepted_or_refused_once(batch: list[dict[str, Any]]) -> None:
    parsed = series.parse_metrics({"metrics": batch})
    indexes = [i for i, _ in parsed.accepted] + [r["index"] for r in parsed.refused]
    assert sorted(indexes) == list(range(len(batch)))
