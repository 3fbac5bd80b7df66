"""Metrics and events in, through the API on moto: batches stored point by point, scored by each
metric's streaming detector as if sent in time order, retries that change nothing, windows,
workspaces kept apart, and events whose metadata comes back as it was sent."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from proactive import series
from proactive.analytics.anomaly import Detector, score_series
from proactive.clock import iso, parse_iso
from proactive.models.series import MetricInput
from proactive.store import keys
from tests.integration.conftest import Aws, token

METRICS, EVENTS = "/api/autonomous/metrics", "/api/autonomous/events"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def other(client: TestClient) -> Iterator[TestClient]:
    """A client whose token grants only ws-2 (the same app and table)."""
    with TestClient(client.app, raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {token('ws-2')}"
        yield c


def minutes_ago(now: datetime, n: float) -> str:
    return iso(now - timedelta(minutes=n))


def steady(n: int, seed: int = 1, level: float = 50.0) -> list[float]:
    rng = random.Random(seed)
    return [level + rng.gauss(0, 1) for _ in range(n)]


def points(name: str, stamps: list[str], values: list[float]) -> list[dict[str, Any]]:
    return [{"metric_name": name, "value": v, "timestamp": t} for t, v in zip(stamps, values, strict=True)]


def post_metrics(client: TestClient, body: Any, status: int = 200) -> dict[str, Any]:
    resp = client.post(METRICS, json=body)
    assert resp.status_code == status, resp.text
    return dict(resp.json())


def window(client: TestClient, name: str, **params: Any) -> list[dict[str, Any]]:
    resp = client.get(f"{METRICS}/{name}", params={"limit": 1000, **params})
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def seconds(stamp: str) -> float:
    return parse_iso(stamp).timestamp()


# Scoring


def test_a_shuffled_batch_of_1000_is_stored_and_scored_as_if_sent_in_order(
    client: TestClient, now: datetime
) -> None:
    # Given 1,000 minutes of a metric with a spike and a level shift, sent in shuffled order
    stamps = [minutes_ago(now, 1000 - i) for i in range(1000)]
    values = steady(1000)
    values[400] += 40
    values[700:] = [v + 25 for v in values[700:]]
    batch = points("cpu_usage", stamps, values)
    random.Random(7).shuffle(batch)

    # When it is posted at once
    answer = post_metrics(client, {"metrics": batch})

    # Then every point is stored, and scored exactly as a detector fed them in time order would
    expected = score_series([seconds(t) for t in stamps], values)
    stored = window(client, "cpu_usage")
    assert (answer["accepted"], answer["refused"]) == (1000, [])
    assert [p["timestamp"] for p in stored] == [t.replace(".000000", "") for t in stamps]
    assert [p["value"] for p in stored] == values
    assert [p["anomaly_score"] for p in stored] == expected
    assert expected[400] > 0.9
    # The answer lists each point in request order with the same score
    by_time = dict(zip(stamps, expected, strict=True))
    assert [p["index"] for p in answer["points"]] == list(range(1000))
    assert all(p["anomaly_score"] == by_time[iso(parse_iso(p["timestamp"]))] for p in answer["points"])


def test_a_spike_after_a_steady_history_scores_high(client: TestClient, now: datetime) -> None:
    history = steady(300)
    post_metrics(
        client, {"metrics": points("latency", [minutes_ago(now, 301 - i) for i in range(300)], history)}
    )

    spike = post_metrics(client, {"metric_name": "latency", "value": 120.0})

    assert spike["points"][0]["anomaly_score"] > 0.9
    listed = client.get(METRICS).json()["items"]
    assert [(m["metric_name"], m["count"], m["last_value"]) for m in listed] == [("latency", 301, 120.0)]
    assert listed[0]["last_anomaly_score"] == spike["points"][0]["anomaly_score"]
    assert listed[0]["first_timestamp"].startswith(minutes_ago(now, 301)[:16])


def test_sending_a_batch_again_changes_nothing(client: TestClient, aws: Aws, now: datetime) -> None:
    # Given a history ending in a spike
    values = [*steady(200), 95.0]
    batch = {"metrics": points("mem", [minutes_ago(now, 201 - i) for i in range(201)], values)}
    first = post_metrics(client, batch)
    state = aws.store.metric_states.get("ws-1", "mem")
    assert first["points"][-1]["anomaly_score"] > 0.9

    # When the same batch is sent again (a retry after a timeout)
    again = post_metrics(client, batch)

    # Then the scores, the learned state and the catalogue are as they were: nothing learned twice
    assert again["points"] == first["points"]
    assert aws.store.metric_states.get("ws-1", "mem") == state
    assert window(client, "mem")[-1]["anomaly_score"] == first["points"][-1]["anomaly_score"]

    # And a late point with a new value is stored and scored, but not learned
    post_metrics(client, {"metric_name": "mem", "value": 51.0, "timestamp": minutes_ago(now, 500)})
    after = aws.store.metric_states.get("ws-1", "mem")
    assert after is not None
    assert state is not None
    assert after["detector"] == state["detector"]
    assert (after["count"], after["first_timestamp"]) == (202, minutes_ago(now, 500))


def test_a_point_sent_again_with_another_value_replaces_it(client: TestClient, now: datetime) -> None:
    stamp = minutes_ago(now, 5)
    post_metrics(client, {"metric_name": "disk/root", "value": 10.0, "timestamp": stamp})
    post_metrics(client, {"metric_name": "disk/root", "value": 12.0, "timestamp": stamp})
    # In one batch, the later occurrence wins
    twice = post_metrics(client, {"metrics": points("disk/root", [minutes_ago(now, 1)] * 2, [1.0, 2.0])})
    assert (twice["accepted"], [p["index"] for p in twice["points"]]) == (2, [1])
    assert [p["value"] for p in window(client, "disk/root")] == [12.0, 2.0]
    assert client.get(METRICS).json()["items"][0]["count"] == 2


def test_points_sent_without_a_time_are_each_kept_in_order(client: TestClient) -> None:
    batch = [{"metric_name": "signups", "value": float(v)} for v in range(5)]
    answer = post_metrics(client, {"metrics": batch})
    assert (answer["accepted"], [p["index"] for p in answer["points"]]) == (5, [0, 1, 2, 3, 4])
    assert [p["value"] for p in window(client, "signups")] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_concurrent_posts_neither_lose_learning_nor_learn_twice(
    client: TestClient, aws: Aws, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = aws.store
    stamps = [now - timedelta(minutes=200 - i) for i in range(200)]
    values = steady(200, seed=3)
    earlier = [
        (i, MetricInput(metric_name="cpu", value=v, timestamp=t))
        for i, (t, v) in enumerate(zip(stamps[:100], values[:100], strict=True))
    ]
    later = [
        (i, MetricInput(metric_name="cpu", value=v, timestamp=t))
        for i, (t, v) in enumerate(zip(stamps[100:], values[100:], strict=True))
    ]
    read = store.metric_states.get_many

    def read_then_lose_the_race(posted: list[tuple[int, MetricInput]]) -> Any:
        def stale(workspace_id: str, metrics: list[str]) -> dict[str, Any]:
            found = read(workspace_id, metrics)
            monkeypatch.setattr(store.metric_states, "get_many", read)
            series.record_metrics(store, workspace_id, posted, now)  # commits in between
            return found

        return stale

    # Given a post of the later points that read the state just before the earlier points committed
    monkeypatch.setattr(store.metric_states, "get_many", read_then_lose_the_race(earlier))
    scored = series.record_metrics(store, "ws-1", later, now)

    # Then it scored again from the committed state: one detector learned all 200 points, in order
    reference = Detector.new()
    expected = [reference.score(t.timestamp(), v) for t, v in zip(stamps, values, strict=True)]
    state = store.metric_states.get("ws-1", "cpu")
    assert state is not None
    assert state["detector"] == json.loads(json.dumps(reference.to_state()))
    assert [p["anomaly_score"] for p in scored] == expected[100:]
    assert (state["count"], state["version"]) == (200, 2)

    # And the same batch posted twice at once is learned once
    batch = [(0, MetricInput(metric_name="cpu", value=70.0, timestamp=now))]
    monkeypatch.setattr(store.metric_states, "get_many", read_then_lose_the_race(batch))
    series.record_metrics(store, "ws-1", batch, now)
    reference.score(now.timestamp(), 70.0)
    final = store.metric_states.get("ws-1", "cpu")
    assert final is not None
    assert final["detector"] == json.loads(json.dumps(reference.to_state()))
    assert (final["count"], final["version"]) == (201, 3)


# Refusals


def test_one_bad_point_in_a_batch_is_refused_by_index_and_field_the_rest_stored(
    client: TestClient, now: datetime
) -> None:
    batch = points("rps", [minutes_ago(now, 5 - i) for i in range(5)], [1.0, 2.0, 3.0, 4.0, 5.0])
    batch[1] = {"value": 2.0}
    batch[3]["value"] = "high"
    batch.append("not a point")  # type: ignore[arg-type]

    answer = post_metrics(client, {"metrics": batch}, status=207)

    assert answer["accepted"] == 3
    assert [(r["index"], r["field"]) for r in answer["refused"]] == [
        (1, "metrics[1].metric_name"),
        (3, "metrics[3].value"),
        (5, "metrics[5]"),
    ]
    assert [p["value"] for p in window(client, "rps")] == [1.0, 3.0, 5.0]


def future(minutes: int) -> str:
    return iso(datetime.now(UTC) + timedelta(minutes=minutes))


BAD_POINTS = [
    ("value", "NaN"),
    ("value", "Infinity"),
    ("value", "-Infinity"),
    ("value", "1e300"),
    ("value", "1e-200"),
    ("value", '"75.5"'),
    ("value", "true"),
    ("value", "null"),
    ("timestamp", "FUTURE"),  # ten minutes after the test starts, not after collection
    ("timestamp", '"2026-01-01T00:00:00"'),
    ("timestamp", '"yesterday"'),
    ("metric_name", '""'),
    ("metric_name", json.dumps("m" * 129)),
    ("metric_name", '"cpu usage"'),
    ("metric_name", '"cpu#1"'),
    ("metric_name", "42"),
]


@pytest.mark.parametrize(("field", "raw"), BAD_POINTS)
def test_a_bad_point_on_its_own_is_a_422_naming_the_field(client: TestClient, field: str, raw: str) -> None:
    point = {
        "metric_name": '"cpu"',
        "value": "1.5",
        field: json.dumps(future(10)) if raw == "FUTURE" else raw,
    }
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in point.items()) + "}"
    resp = client.post(METRICS, content=text, headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert (resp.json()["error"], resp.json()["field"]) == ("validation_error", field)


@pytest.mark.parametrize(("field", "raw"), BAD_POINTS)
def test_a_bad_point_in_a_batch_is_refused_by_its_field(client: TestClient, field: str, raw: str) -> None:
    point = {
        "metric_name": '"cpu"',
        "value": "1.5",
        field: json.dumps(future(10)) if raw == "FUTURE" else raw,
    }
    bad = "{" + ", ".join(f'"{k}": {v}' for k, v in point.items()) + "}"
    text = f'{{"metrics": [{{"metric_name": "cpu", "value": 2}}, {bad}]}}'
    resp = client.post(METRICS, content=text, headers={"content-type": "application/json"})
    assert resp.status_code == 207, resp.text
    assert [(r["index"], r["field"]) for r in resp.json()["refused"]] == [(1, f"metrics[1].{field}")]


def test_batches_that_cannot_be_used_at_all_are_a_422(client: TestClient) -> None:
    every_point_bad = {"metrics": [{"metric_name": "cpu", "value": "x"}, {"metric_name": "", "value": 1}]}
    resp = client.post(METRICS, json=every_point_bad)
    assert resp.status_code == 422
    assert [d["field"] for d in resp.json()["details"]] == ["metrics[0].value", "metrics[1].metric_name"]
    too_many = {"metrics": [{"metric_name": "cpu", "value": 1}] * 1001}
    assert client.post(METRICS, json=too_many).json()["field"] == "metrics"
    assert client.post(METRICS, json={"metrics": []}).json()["field"] == "metrics"
    assert client.post(METRICS, json=[{"metric_name": "cpu", "value": 1}]).json()["field"] == "body"
    assert client.post(METRICS, content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert client.get(METRICS).json()["items"] == []


# Windows and workspaces


def test_points_are_read_by_window_oldest_first_page_by_page(client: TestClient, now: datetime) -> None:
    # Given a point every hour for three days
    stamps = [iso(now - timedelta(hours=72 - i)) for i in range(73)]
    post_metrics(client, {"metrics": points("queue_depth", stamps, [float(i) for i in range(73)])})

    # By default, the 24 hours up to now (the point 24 hours before the test is just outside)
    assert [p["value"] for p in window(client, "queue_depth")] == [float(i) for i in range(49, 73)]
    # Since and until are both included
    chosen = window(client, "queue_depth", since=stamps[10], until=stamps[12])
    assert [p["value"] for p in chosen] == [10.0, 11.0, 12.0]
    # Page by page
    seen, cursor = [], None
    while True:
        page = client.get(
            f"{METRICS}/queue_depth", params={"since": stamps[0], "limit": 10, "cursor": cursor}
        ).json()
        seen += [p["value"] for p in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == [float(i) for i in range(73)]
    # A cursor carried into a later window continues from that window's start
    first = client.get(f"{METRICS}/queue_depth", params={"since": stamps[0], "limit": 2}).json()
    later = client.get(
        f"{METRICS}/queue_depth", params={"since": stamps[50], "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [p["value"] for p in later["items"]] == [50.0, 51.0]

    resp = client.get(f"{METRICS}/queue_depth", params={"since": stamps[5], "until": stamps[4]})
    assert (resp.status_code, resp.json()["field"]) == (422, "since")
    resp = client.get(f"{METRICS}/queue_depth", params={"since": "2026-01-01T00:00:00"})
    assert (resp.status_code, resp.json()["field"]) == (422, "since")
    assert client.get(f"{METRICS}/nothing_here").status_code == 404


def test_metrics_are_listed_by_name_page_by_page(client: TestClient) -> None:
    post_metrics(client, {"metrics": [{"metric_name": n, "value": 1} for n in ("rps", "cpu", "mem")]})
    first = client.get(METRICS, params={"limit": 2}).json()
    rest = client.get(METRICS, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [m["metric_name"] for m in first["items"] + rest["items"]] == ["cpu", "mem", "rps"]
    assert rest["next_cursor"] is None
    assert client.get(METRICS, params={"cursor": "bm90IG91cnM="}).json()["field"] == "cursor"


def test_a_workspace_cannot_see_or_write_another_workspaces_metrics(
    client: TestClient, other: TestClient
) -> None:
    post_metrics(client, {"metric_name": "revenue", "value": 10.0})
    post_metrics(client, {"metric_name": "revenue", "value": 11.0})
    client.post(EVENTS, json={"event_type": "deploy"})

    assert other.get(f"{METRICS}/revenue").status_code == 404
    assert other.get(METRICS).json()["items"] == []
    assert other.get(EVENTS).json()["items"] == []
    assert other.get(f"{METRICS}/revenue", params={"workspace_id": "ws-1"}).status_code == 403
    assert other.get(EVENTS, params={"workspace_id": "ws-1"}).status_code == 403
    resp = other.post(METRICS, json={"workspace_id": "ws-1", "metric_name": "revenue", "value": 0})
    assert (resp.status_code, resp.json()["field"]) == (403, "workspace_id")
    resp = other.post(EVENTS, json={"events": [{"event_type": "x"}], "workspace_id": "ws-1"})
    assert resp.status_code == 403
    # ws-2's own metric of the same name is its own
    assert post_metrics(other, {"metric_name": "revenue", "value": 99.0})["accepted"] == 1
    assert [p["value"] for p in window(client, "revenue")] == [10.0, 11.0]

    # A token with several workspaces names the one it writes to
    both = {"Authorization": f"Bearer {token('ws-1', 'ws-2')}"}
    resp = client.post(METRICS, json={"metric_name": "revenue", "value": 1}, headers=both)
    assert (resp.status_code, resp.json()["field"]) == (422, "workspace_id")
    resp = client.post(
        METRICS, json={"workspace_id": "ws-2", "metric_name": "revenue", "value": 1}, headers=both
    )
    assert resp.status_code == 200


def test_stored_points_events_and_metrics_expire(client: TestClient, aws: Aws, now: datetime) -> None:
    stamp = minutes_ago(now, 3)
    post_metrics(client, {"metric_name": "cpu", "value": 1.0, "timestamp": stamp})
    event = client.post(EVENTS, json={"event_type": "deploy", "timestamp": stamp}).json()["events"][0]

    expected = int((parse_iso(stamp) + timedelta(days=30)).timestamp())
    point = aws.store.table.get(keys.series_point("ws-1", "cpu", stamp))
    entry = aws.store.table.get(keys.metric_state("ws-1", "cpu"))
    logged = aws.store.table.get(
        {
            k: v
            for k, v in keys.event_log_entry("ws-1", "deploy", stamp, event["id"]).items()
            if k in ("PK", "SK")
        }
    )
    assert None not in (point, entry, logged)
    assert point[keys.TTL_ATTRIBUTE] == entry[keys.TTL_ATTRIBUTE] == logged[keys.TTL_ATTRIBUTE] == expected


# Events


AWKWARD = {
    "": "empty key",
    "nested": [[1, [2, [3, []]]], {"a": {"b": {"c": None}}}],
    "big": 123456789012345678901234567890123456789012345678901234567890,
    "negative_big": -(2**80),
    "float": 0.1,
    "tiny": 1e-300,
    "unicode": "naïve ✓ 🚀",
    "deep": json.loads("[" * 40 + "]" * 40),
    "flags": [True, False, None],
}


def test_events_are_stored_and_listed_with_their_metadata_as_sent(client: TestClient, now: datetime) -> None:
    # Given events of two types, one with awkward metadata, posted in a batch with a bad one
    batch = {
        "events": [
            {"event_type": "user_login", "metadata": {"user_id": "123"}, "timestamp": minutes_ago(now, 30)},
            {"event_type": "api_request", "metadata": AWKWARD, "timestamp": minutes_ago(now, 20)},
            {"event_type": "api_request", "metadata": ["not", "an", "object"]},
            {"event_type": "api_request", "metadata": {"blob": "x" * 20_000}},
            {"event_type": "user_login", "timestamp": minutes_ago(now, 10)},
        ]
    }
    answer = client.post(EVENTS, json=batch)
    assert answer.status_code == 207, answer.text
    assert answer.json()["accepted"] == 3
    assert [(r["index"], r["field"]) for r in answer.json()["refused"]] == [
        (2, "events[2].metadata"),
        (3, "events[3].metadata"),
    ]

    # Then they are listed newest first, metadata exactly as sent (an absent one is {})
    listed = client.get(EVENTS).json()["items"]
    assert [(e["event_type"], e["metadata"]) for e in listed] == [
        ("user_login", {}),
        ("api_request", AWKWARD),
        ("user_login", {"user_id": "123"}),
    ]
    logins = client.get(EVENTS, params={"event_type": "user_login"}).json()["items"]
    assert [e["metadata"] for e in logins] == [{}, {"user_id": "123"}]
    windowed = client.get(EVENTS, params={"since": minutes_ago(now, 25), "until": minutes_ago(now, 20)})
    assert [e["event_type"] for e in windowed.json()["items"]] == ["api_request"]
    first = client.get(EVENTS, params={"limit": 2}).json()
    rest = client.get(EVENTS, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [e["id"] for e in first["items"] + rest["items"]] == [e["id"] for e in listed]
    assert rest["next_cursor"] is None

    # One event on its own, and one that cannot be used
    single = client.post(EVENTS, json={"event_type": "deploy", "metadata": {"version": "1.2.3"}})
    assert (single.status_code, single.json()["events"][0]["event_type"]) == (200, "deploy")
    resp = client.post(
        EVENTS,
        content=b'{"event_type": "deploy", "metadata": {"x": NaN}}',
        headers={"content-type": "application/json"},
    )
    assert (resp.status_code, resp.json()["field"]) == (422, "metadata")
    resp = client.post(EVENTS, json={"event_type": "deploy", "timestamp": future(10)})
    assert (resp.status_code, resp.json()["field"]) == (422, "timestamp")
    resp = client.get(EVENTS, params={"since": minutes_ago(now, 1), "until": minutes_ago(now, 2)})
    assert (resp.status_code, resp.json()["field"]) == (422, "since")
