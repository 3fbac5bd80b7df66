"""The streaming anomaly detector: no look-ahead, exact persistence, bounded state, and what it flags."""

from __future__ import annotations

import base64
import json
import math
import random
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proactive.analytics.anomaly import Detector, score_series
from tests.bench.nab import PROFILES, load_corpus, optimise_threshold

STEP = 300.0
DAY = 86_400.0
DATA = Path(__file__).resolve().parents[1] / "data" / "nab"


def steady(n: int, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [10 + rng.gauss(0, 1) for _ in range(n)]


def seasonal(n: int, seed: int = 2) -> list[float]:
    rng = random.Random(seed)
    return [50 + 20 * math.sin(2 * math.pi * i * STEP / DAY) + rng.gauss(0, 2) for i in range(n)]


def times(n: int) -> list[float]:
    return [1.7e9 + STEP * i for i in range(n)]


def percentile_99(scores: list[float]) -> float:
    return sorted(scores)[int(0.99 * len(scores))]


def restored(detector: Detector) -> Detector:
    return Detector.from_state(json.loads(json.dumps(detector.to_state())))


def with_anomalies(n: int = 3000) -> list[float]:
    values = seasonal(n)
    values[1200] += 80
    for i in range(2200, n):
        values[i] += 60
    return values


# Streaming


def test_scoring_a_prefix_then_a_point_equals_scoring_the_whole_series() -> None:
    values = with_anomalies()
    ts = times(len(values))
    full = score_series(ts, values)
    for k in (0, 49, 50, 51, 700, 1200, 1201, 2200, 2999):
        assert score_series(ts[: k + 1], values[: k + 1])[-1] == full[k]


def test_restoring_from_json_state_mid_stream_gives_identical_scores() -> None:
    values = with_anomalies()
    ts = times(len(values))
    continuous = Detector.new()
    persisted = Detector.new()
    for i, (t, v) in enumerate(zip(ts, values, strict=True)):
        if i % 97 == 0:
            persisted = restored(persisted)
        assert persisted.score(t, v) == continuous.score(t, v)
    assert persisted.to_state() == continuous.to_state()


def test_state_survives_json_and_holds_only_strings_and_small_integers() -> None:
    detector = Detector.new()
    for t, v in zip(times(3000), with_anomalies(), strict=True):
        detector.score(t, v)
    state = detector.to_state()
    assert json.loads(json.dumps(state)) == state

    def leaves(x: Any) -> list[Any]:
        return [leaf for v in x.values() for leaf in leaves(v)] if isinstance(x, dict) else [x]

    for leaf in leaves(state):
        assert leaf is None or isinstance(leaf, str) or (type(leaf) is int and abs(leaf) < 10**38)


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(lambda rng, i: rng.gauss(0, 1), id="noise"),
        pytest.param(lambda rng, i: rng.paretovariate(0.5), id="heavy-tailed"),
        pytest.param(lambda rng, i: i * rng.random(), id="widening"),
        pytest.param(lambda rng, i: float(i) + rng.random(), id="trend"),
    ],
)
def test_state_stays_small_after_20000_points(source: Any) -> None:
    rng = random.Random(3)
    detector = Detector.new()
    for i in range(20_000):
        detector.score(STEP * i, source(rng, i))
    assert len(json.dumps(detector.to_state())) < 50_000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=120))
def test_scores_are_in_unit_interval_for_any_finite_values(values: list[float]) -> None:
    detector = Detector.new()
    series = values * (60 // len(values) + 1)
    for i, v in enumerate(series):
        if i == len(series) // 2:
            detector = restored(detector)
        assert 0.0 <= detector.score(float(i), v) <= 1.0


def test_late_point_is_scored_but_not_learned() -> None:
    detector = Detector.new()
    for t, v in zip(times(500), steady(500), strict=True):
        detector.score(t, v)
    before = detector.to_state()
    assert detector.score(times(500)[10], 40.0) > 0.9
    assert detector.to_state() == before


# Behaviour


def test_spike_in_steady_series_scores_high_and_ordinary_points_low() -> None:
    values = steady(2000)
    values[1500] = 30.0
    scores = score_series(times(2000), values)
    assert scores[1500] > 0.9
    ordinary = scores[100:1500] + scores[1501:]
    assert percentile_99(ordinary) < 0.3


def test_spike_and_level_shift_in_seasonal_series_score_high() -> None:
    values = with_anomalies()
    scores = score_series(times(len(values)), values)
    assert scores[1200] > 0.9
    assert scores[2200] > 0.9
    ordinary = [s for i, s in enumerate(scores[300:], 300) if i not in (1200, 2200)]
    assert percentile_99(ordinary) < 0.3


def test_points_after_an_alert_are_muted_for_the_episode_unless_more_novel() -> None:
    values = steady(400)
    lo, hi = min(values[:300]), max(values[:300])
    span = hi - lo
    # Just past the range, then far beyond it, then inside the gap the two leave, then later.
    values[300] = hi + 0.03 * span
    values[301] = values[300] + 0.5 * span
    values[310] = values[300] + 0.25 * span
    values[390] = values[301] + 0.25 * span
    scores = score_series(times(400), values)
    assert 0.9 < scores[300] < 1.0
    # A stronger event breaks through the episode and restarts it.
    assert scores[301] > scores[300]
    assert scores[310] == 0.0
    # Fifty points after the last alert the episode is over.
    assert scores[390] > 0.9


def test_values_not_seen_for_the_memory_span_are_forgotten() -> None:
    values = steady(12_000)
    values[100] = 30.0
    values[-1] = 30.0
    scores = score_series(times(len(values)), values)
    assert scores[-1] > 0.9


def test_warm_up_points_score_zero() -> None:
    values = steady(60)
    values[20] = 1e6
    assert score_series(times(60), values)[:50] == [0.0] * 50


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_input_raises(bad: float) -> None:
    detector = Detector.new()
    with pytest.raises(ValueError, match="finite"):
        detector.score(0.0, bad)
    with pytest.raises(ValueError, match="finite"):
        detector.score(bad, 1.0)


# State validation


def _state() -> dict[str, Any]:
    values = steady(400)
    values[300] = 40.0
    detector = Detector.new()
    for t, v in zip(times(400), values, strict=True):
        detector.score(t, v)
    state = detector.to_state()
    assert state["episode"] is not None
    return state


def _packed(code: str, items: list[Any]) -> str:
    return base64.b64encode(struct.pack(f"<{len(items)}{code}", *items)).decode()


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"model": "other"}, id="foreign-model"),
        pytest.param({"version": 2}, id="future-version"),
        pytest.param({"learned": True}, id="bool-count"),
        pytest.param({"learned": -1}, id="negative-count"),
        pytest.param({"values": "not base64!"}, id="bad-base64"),
        pytest.param({"values": "AAAA"}, id="partial-item"),
        pytest.param({"values": _packed("d", [2.0, 1.0])}, id="unsorted"),
        pytest.param({"values": _packed("d", [1.0, math.nan])}, id="nan-value"),
        pytest.param({"seen": _packed("q", [0])}, id="length-mismatch"),
        pytest.param({"last_time": "0x1.0p+1024"}, id="overflowing-time"),
        pytest.param({"last_time": None}, id="missing-time"),
        pytest.param({"episode": {"index": 0, "time": "0x0p+0", "score": "0x1.0p-1"}}, id="weak-episode"),
        pytest.param({"episode": {"index": 0}}, id="partial-episode"),
        pytest.param({"extra": 1}, id="unknown-key"),
    ],
)
def test_malformed_state_is_refused(change: dict[str, Any]) -> None:
    state = {**_state(), **change}
    with pytest.raises(ValueError, match="detector state"):
        Detector.from_state(state)


def test_state_missing_a_key_or_not_a_mapping_is_refused() -> None:
    state = _state()
    del state["seen"]
    with pytest.raises(ValueError, match="detector state"):
        Detector.from_state(state)
    with pytest.raises(ValueError, match="detector state"):
        Detector.from_state([])  # type: ignore[arg-type]


def test_state_read_back_from_dynamodb_with_decimal_integers_is_accepted() -> None:
    state = _state()
    from_dynamodb = {
        **state,
        "version": Decimal(state["version"]),
        "learned": Decimal(state["learned"]),
        "episode": {**state["episode"], "index": Decimal(state["episode"]["index"])},
    }
    assert Detector.from_state(from_dynamodb).to_state() == state


# Real data


def test_nab_score_on_vendored_aws_cloudwatch_series_stays_above_floor() -> None:
    corpus = load_corpus(DATA)
    scores = {s.name: score_series(s.timestamps, s.values) for s in corpus}
    _, standard = optimise_threshold(scores, corpus, PROFILES["standard"])
    # Measured 72.6 (threshold 0.84); the published CAD OSE and HTM result files score 72.1 and
    # 73.4 on these 17 files with the same scorer.
    assert standard > 70.0
