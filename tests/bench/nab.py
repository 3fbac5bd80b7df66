"""A scorer for the Numenta Anomaly Benchmark (NAB), written from NAB's published definition.

Per file, the first 15% of points (at most 750) are a probationary period and are not scored.
A point whose anomaly score is at or above the threshold is a detection. Inside a labelled
window only the earliest detection counts, weighted by the scaled sigmoid of its position in
the window (about 1 at the window's start, 0 at its end); a window without a detection costs
the profile's FN weight. A detection outside every window is a false positive, weighted by
the scaled sigmoid of its distance past the preceding window (in that window's widths), or by
-1 before the first window, times the profile's FP weight. The corpus' raw score is the sum
over files, normalised to 100 * (raw - null) / (perfect - null), where null is the detector
that never fires and perfect detects every window at its first point. One threshold serves
the whole corpus for a profile; `optimise_threshold` finds the best one.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PROBATION_FRACTION = 0.15
PROBATION_CAP = 750


@dataclass(frozen=True)
class Profile:
    """Weights of an application profile: reward per detected window, costs per FP and missed window."""

    name: str
    tp: float
    fp: float
    fn: float


PROFILES = {
    "standard": Profile("standard", tp=1.0, fp=0.11, fn=1.0),
    "reward_low_FP": Profile("reward_low_FP", tp=1.0, fp=0.22, fn=1.0),
    "reward_low_FN": Profile("reward_low_FN", tp=1.0, fp=0.11, fn=2.0),
}


@dataclass(frozen=True)
class Series:
    """One labelled file: epoch-second timestamps, values and windows as inclusive index ranges."""

    name: str
    timestamps: tuple[float, ...]
    values: tuple[float, ...]
    windows: tuple[tuple[int, int], ...]

    @property
    def probation(self) -> int:
        """Number of leading points that are not scored."""
        return min(math.floor(PROBATION_FRACTION * len(self.values)), PROBATION_CAP)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _window_indices(timestamps: Sequence[float], start: str, end: str) -> tuple[int, int]:
    first = bisect.bisect_left(timestamps, _epoch(start))
    last = bisect.bisect_right(timestamps, _epoch(end)) - 1
    if first > last:
        raise ValueError(f"window {start} .. {end} holds no point")
    return first, last


def load_corpus(directory: Path) -> list[Series]:
    """Read every file named in `directory/combined_windows.json` with its windows."""
    labels: dict[str, list[list[str]]] = json.loads((directory / "combined_windows.json").read_text())
    corpus = []
    for name in sorted(labels):
        with (directory / name).open(newline="") as f:
            rows = list(csv.DictReader(f))
        timestamps = tuple(_epoch(row["timestamp"]) for row in rows)
        values = tuple(float(row["value"]) for row in rows)
        windows = tuple(_window_indices(timestamps, start, end) for start, end in labels[name])
        corpus.append(Series(name, timestamps, values, windows))
    return corpus


def scaled_sigmoid(position: float) -> float:
    """NAB's reward for a detection at `position`: -1 is a window's start, 0 its end, > 0 past it."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


@dataclass(frozen=True)
class _Point:
    score: float
    weight: float
    window: int | None


def _scorable_points(series: Series, scores: Sequence[float], profile: Profile, offset: int) -> list[_Point]:
    """Each scored point with the weight it would earn as a detection; windows are numbered from `offset`."""
    if len(scores) != len(series.values):
        raise ValueError(f"{series.name}: {len(scores)} scores for {len(series.values)} points")
    best = scaled_sigmoid(-1.0)
    points = []
    window_at = {i: w for w, (first, last) in enumerate(series.windows) for i in range(first, last + 1)}
    previous: tuple[int, int] | None = None
    for i, score in enumerate(scores):
        window = window_at.get(i)
        if window is not None:
            first, last = series.windows[window]
            weight = profile.tp * scaled_sigmoid(-(last - i + 1) / (last - first + 1)) / best
            if i == last:
                previous = (first, last)
        elif previous is None:
            weight = -profile.fp
        else:
            first, last = previous
            # A one-point window has no width to measure by: any later detection is far past it.
            distance = (i - last) / (last - first) if last > first else math.inf
            weight = profile.fp * scaled_sigmoid(distance)
        if i >= series.probation:
            points.append(_Point(score, weight, None if window is None else offset + window))
    return points


def _window_counts(corpus: Sequence[Series]) -> tuple[int, int]:
    """All windows, and those with at least one scored point (only these can be missed)."""
    total = sum(len(s.windows) for s in corpus)
    scorable = sum(1 for s in corpus for _, last in s.windows if last >= s.probation)
    return total, scorable


def _normalise(raw: float, corpus: Sequence[Series], profile: Profile) -> float:
    total, scorable = _window_counts(corpus)
    null = -profile.fn * scorable
    perfect = profile.tp * total
    return 100.0 * (raw - null) / (perfect - null)


def _all_points(
    scores_by_file: Mapping[str, Sequence[float]], corpus: Sequence[Series], profile: Profile
) -> list[_Point]:
    points: list[_Point] = []
    offset = 0
    for series in corpus:
        points.extend(_scorable_points(series, scores_by_file[series.name], profile, offset))
        offset += len(series.windows)
    return points


def raw_score(series: Series, scores: Sequence[float], profile: Profile, threshold: float) -> float:
    """One file's unnormalised NAB score at `threshold` (NAB's per-file "Score" column)."""
    points = _scorable_points(series, scores, profile, 0)
    detected: dict[int, float] = {}
    false_positives = 0.0
    for p in points:
        if p.score < threshold:
            continue
        if p.window is None:
            false_positives += p.weight
        else:
            detected[p.window] = max(detected.get(p.window, -math.inf), p.weight)
    missed = sum(
        1 for w, (_, last) in enumerate(series.windows) if last >= series.probation and w not in detected
    )
    return false_positives + sum(detected.values()) - profile.fn * missed


def score_corpus(
    scores_by_file: Mapping[str, Sequence[float]],
    corpus: Sequence[Series],
    profile: Profile,
    threshold: float,
) -> float:
    """The normalised NAB score of a detector's per-point scores, keyed by file name, at `threshold`."""
    raw = sum(raw_score(s, scores_by_file[s.name], profile, threshold) for s in corpus)
    return _normalise(raw, corpus, profile)


def optimise_threshold(
    scores_by_file: Mapping[str, Sequence[float]], corpus: Sequence[Series], profile: Profile
) -> tuple[float, float]:
    """The corpus-wide threshold with the best normalised score, and that score.

    Every distinct score is a candidate, swept from the highest down (as NAB does); a threshold
    above every score stands for the null detector. Ties go to the higher threshold.
    """
    points = sorted(_all_points(scores_by_file, corpus, profile), key=lambda p: p.score, reverse=True)
    _, scorable = _window_counts(corpus)
    window_best: dict[int, float] = {}
    raw = -profile.fn * scorable
    best_threshold, best_raw = math.inf, raw
    for k, p in enumerate(points):
        if p.window is None:
            raw += p.weight
        else:
            before = window_best.get(p.window)
            if before is None:
                window_best[p.window] = p.weight
                raw += p.weight + profile.fn
            elif p.weight > before:
                window_best[p.window] = p.weight
                raw += p.weight - before
        last_of_tie = k + 1 == len(points) or points[k + 1].score != p.score
        if last_of_tie and raw > best_raw:
            best_threshold, best_raw = p.score, raw
    return best_threshold, _normalise(best_raw, corpus, profile)
