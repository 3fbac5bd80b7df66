"""The NAB scorer on small hand-built cases whose score is known by construction."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.bench.nab import (
    PROFILES,
    Series,
    load_corpus,
    optimise_threshold,
    raw_score,
    scaled_sigmoid,
    score_corpus,
)

STANDARD = PROFILES["standard"]
DATA = Path(__file__).resolve().parents[1] / "data" / "nab"

# 200 points: the first 30 are probationary; one window of 20 points.
WINDOW = (100, 119)
SERIES = Series(
    name="toy/a.csv",
    timestamps=tuple(float(300 * i) for i in range(200)),
    values=tuple(0.0 for _ in range(200)),
    windows=(WINDOW,),
)


def detections_at(*indices: int, n: int = 200) -> list[float]:
    return [1.0 if i in indices else 0.0 for i in range(n)]


def nab(*indices: int) -> float:
    return score_corpus({SERIES.name: detections_at(*indices)}, [SERIES], STANDARD, 0.5)


def test_scaled_sigmoid_matches_nab_definition() -> None:
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.5) == -1.0


def test_probationary_period_is_fifteen_percent_capped_at_750() -> None:
    assert SERIES.probation == 30
    assert Series("b", (0.0,) * 10_000, (0.0,) * 10_000, ()).probation == 750


def test_perfect_detector_scores_100_and_null_detector_0() -> None:
    assert nab(WINDOW[0]) == pytest.approx(100.0)
    assert nab() == 0.0


def test_earlier_detection_in_window_scores_more() -> None:
    start, middle, end = nab(WINDOW[0]), nab(110), nab(WINDOW[1])
    assert start > middle > end
    # The last point of a window sits at relative position -1/20, just inside.
    assert end == pytest.approx(100 * (1 + scaled_sigmoid(-1 / 20) / scaled_sigmoid(-1.0)) / 2)


def test_only_the_first_detection_in_a_window_counts() -> None:
    assert nab(WINDOW[0], 105, 110, WINDOW[1]) == pytest.approx(nab(WINDOW[0]))


def test_false_positive_costs_fp_weight_times_sigmoid_of_distance_past_window() -> None:
    # Far past the window (over three widths): the full FP weight. Raw 1 - 0.11, null -1, perfect 1.
    assert nab(WINDOW[0], 190) == pytest.approx(100 * (1 - 0.11 + 1) / 2)
    # Just past the window: weighted by the sigmoid of distance / (width - 1).
    near = 100 * (1 + 0.11 * scaled_sigmoid(2 / 19) + 1) / 2
    assert nab(WINDOW[0], WINDOW[1] + 2) == pytest.approx(near)
    # Before any window: the full weight.
    assert nab(WINDOW[0], 50) == pytest.approx(100 * (1 - 0.11 + 1) / 2)


def test_detections_in_probationary_period_are_ignored() -> None:
    assert nab(WINDOW[0], 0, 10, 29) == pytest.approx(100.0)
    assert nab(WINDOW[0], 30) < 100.0


def test_profiles_weigh_misses_and_false_positives() -> None:
    scores = {SERIES.name: detections_at(50)}
    assert raw_score(SERIES, scores[SERIES.name], PROFILES["reward_low_FN"], 0.5) == pytest.approx(
        -0.11 - 2.0
    )
    assert raw_score(SERIES, scores[SERIES.name], PROFILES["reward_low_FP"], 0.5) == pytest.approx(
        -0.22 - 1.0
    )


def test_threshold_is_optimised_over_the_corpus() -> None:
    other = Series("toy/b.csv", SERIES.timestamps, SERIES.values, ((60, 79),))
    # File a: a true detection scores 0.9, a false one 0.8; file b: its detection scores 0.7.
    scores = {SERIES.name: [0.0] * 200, other.name: [0.0] * 200}
    scores[SERIES.name][100], scores[SERIES.name][190] = 0.9, 0.8
    scores[other.name][60] = 0.7
    threshold, best = optimise_threshold(scores, [SERIES, other], STANDARD)
    # Taking the 0.8 false positive to reach b's window (worth 2) beats stopping at 0.9.
    assert threshold == 0.7
    assert best == pytest.approx(score_corpus(scores, [SERIES, other], STANDARD, 0.7))
    assert best == pytest.approx(100 * (2 - 0.11 + 2) / 4)
    assert score_corpus(scores, [SERIES, other], STANDARD, 0.9) < best


def test_optimiser_prefers_null_when_every_detection_is_false() -> None:
    threshold, best = optimise_threshold({SERIES.name: detections_at(40, 60)}, [SERIES], STANDARD)
    assert threshold == math.inf
    assert best == 0.0


def test_load_corpus_maps_windows_to_point_indices(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    rows = [f"2014-02-14 14:{m:02d}:00,{m}" for m in range(0, 60, 5)]
    (tmp_path / "d" / "x.csv").write_text("timestamp,value\n" + "\n".join(rows) + "\n")
    windows = {"d/x.csv": [["2014-02-14 14:10:00.000000", "2014-02-14 14:20:00.000000"]]}
    (tmp_path / "combined_windows.json").write_text(json.dumps(windows))
    [series] = load_corpus(tmp_path)
    assert series.windows == ((2, 4),)
    assert series.values[:3] == (0.0, 5.0, 10.0)


def test_vendored_corpus_loads_with_all_windows() -> None:
    corpus = load_corpus(DATA)
    assert len(corpus) == 17
    assert sum(len(s.windows) for s in corpus) == 30
    assert all(0 <= a <= b < len(s.values) for s in corpus for a, b in s.windows)
