"""Forecast accuracy and speed on the 17 real AWS CloudWatch series of the Numenta Anomaly Benchmark.

Rolling origin: from origins spread over the last 40% of every series, forecast 1 h and 6 h ahead
and score by MASE, scaled by the in-sample seasonal naive error at one day. Our ensemble and our
seasonal naive run from every origin; statsforecast's AutoETS and AutoTheta (when installed)
take seconds per fit, so they run from every fourth origin only, beside ours on the same ones.
statsforecast's ETS drops any season longer than 24 steps, so AutoETS runs without one (an
hourly season would make it ten times slower).
"""

from __future__ import annotations

import csv
import os
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from proactive.analytics.forecast import Forecast, forecast, mase

DATA = Path(__file__).resolve().parents[1] / "data" / "nab" / "realAWSCloudwatch"
ORIGINS = int(os.environ.get("BENCH_FORECAST_ORIGINS", "12"))
EXTERNAL_EVERY = 4
TIMING_REPEATS = int(os.environ.get("BENCH_FORECAST_REPEATS", "9"))
STEP = 300.0
DAY_STEPS = 288
HORIZONS = {"1 h": 12, "6 h": 72}
LEVEL = 0.9

_Array = npt.NDArray[np.float64]
# Forecasts the longest horizon from a history; shorter horizons are its first steps.
_Forecaster = Callable[[_Array], _Array]


def _load(path: Path) -> tuple[_Array, _Array]:
    """The series on a 5-minute grid: points in one step averaged, gaps filled linearly."""
    with path.open() as f:
        rows = list(csv.DictReader(f))
    times = np.array(
        [datetime.strptime(r["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp() for r in rows]
    )
    values = np.array([float(r["value"]) for r in rows])
    index = np.rint((times - times[0]) / STEP).astype(np.int64)
    sums, counts = np.bincount(index, weights=values), np.bincount(index)
    seen = counts > 0
    grid = np.interp(np.arange(sums.size), np.flatnonzero(seen), sums[seen] / counts[seen])
    return times[0] + STEP * np.arange(grid.size), grid


def _statsforecast() -> dict[str, _Forecaster]:
    try:
        from statsforecast.models import AutoETS, AutoTheta
    except ImportError:
        return {}
    steps = max(HORIZONS.values())

    def ets(history: _Array) -> _Array:
        return np.asarray(AutoETS(season_length=1).forecast(y=history, h=steps)["mean"])

    def theta(history: _Array) -> _Array:
        return np.asarray(AutoTheta(season_length=DAY_STEPS).forecast(y=history, h=steps)["mean"])

    return {"AutoETS": ets, "AutoTheta": theta}


def _evaluate_series(path: Path) -> dict[str, dict[str, list[float]]]:
    """MASE per horizon and method at each origin (NaN where the method did not run), and the
    ensemble's interval coverage under the name "coverage"."""
    warnings.filterwarnings("ignore")
    times, values = _load(path)
    longest = max(HORIZONS.values())
    origins = np.linspace(int(values.size * 0.6), values.size - longest, ORIGINS).astype(int).tolist()
    external = _statsforecast()
    results: dict[str, dict[str, list[float]]] = {label: {} for label in HORIZONS}
    for i, origin in enumerate(origins):
        history = values[:origin]
        for label, steps in HORIZONS.items():
            actual = values[origin : origin + steps]
            by_name = results[label]
            for method, name in (("ensemble", "ensemble"), ("seasonal_naive", "seasonal naive")):
                result = forecast(
                    times[:origin], history, horizon_seconds=steps * STEP, level=LEVEL, method=method
                )
                predicted = np.array([p.value for p in result.points])
                by_name.setdefault(name, []).append(mase(actual, predicted, history, DAY_STEPS))
                if method == "ensemble":
                    by_name.setdefault("coverage", []).append(_coverage(result, actual))
        for name, run in external.items():
            predicted = run(history) if i % EXTERNAL_EVERY == 0 else np.full(longest, np.nan)
            for label, steps in HORIZONS.items():
                actual = values[origin : origin + steps]
                results[label].setdefault(name, []).append(
                    mase(actual, predicted[:steps], history, DAY_STEPS)
                )
    return results


def _coverage(result: Forecast, actual: _Array) -> float:
    lower = np.array([p.lower for p in result.points])
    upper = np.array([p.upper for p in result.points])
    return float(np.mean((lower <= actual) & (actual <= upper)))


def _time_ms(times: _Array, values: _Array, steps: int) -> float:
    durations = []
    for _ in range(TIMING_REPEATS):
        started = time.perf_counter()
        forecast(times, values, horizon_seconds=steps * STEP)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


def _summary(
    results: list[dict[str, dict[str, list[float]]]], label: str, names: list[str], every: int
) -> str:
    """Mean / median over series of each method's MASE averaged over every `every`-th origin."""
    cells = []
    for name in names:
        per_series = [float(np.mean(series[label][name][::every])) for series in results]
        cells.append(f"{name} {np.mean(per_series):.3f} / {np.median(per_series):.3f}")
    return "   ".join(cells)


def main() -> None:
    warnings.filterwarnings("ignore")
    paths = sorted(DATA.glob("*.csv"))
    results = [_evaluate_series(path) for path in paths]
    ours = ["ensemble", "seasonal naive"]
    external = [name for name in results[0][next(iter(HORIZONS))] if name not in [*ours, "coverage"]]
    sampled = len(range(0, ORIGINS, EXTERNAL_EVERY))

    print(f"forecast MASE, {len(paths)} NAB CloudWatch series, mean / median over series:")
    for label, steps in HORIZONS.items():
        print(f"  {label} ({steps} steps), {ORIGINS} origins: {_summary(results, label, ours, 1)}")
    for label, steps in HORIZONS.items():
        if external:
            cells = _summary(results, label, ours + external, EXTERNAL_EVERY)
            print(f"  {label} ({steps} steps), {sampled} of those origins: {cells}")
    if not external:
        print("  statsforecast is not installed: no AutoETS or AutoTheta figures")
    coverage = ", ".join(
        f"{label} {np.mean([series[label]['coverage'] for series in results]):.3f}" for label in HORIZONS
    )
    print(f"ensemble {LEVEL:.0%} interval coverage, {ORIGINS} origins: {coverage}")
    times, values = _load(paths[0])
    timings = ", ".join(
        f"{label} {_time_ms(times, values, steps):.0f} ms" for label, steps in HORIZONS.items()
    )
    print(f"forecast time, one series of {values.size} points (median of {TIMING_REPEATS}): {timings}")
