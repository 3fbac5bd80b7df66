"""Short-horizon forecasts of one metric series: a small ensemble of classical methods in numpy.

The series is regularised to a fixed step and its season (an hour, a day or a week) is found by
autocorrelation. Seasonal naive, damped Holt, damped Holt-Winters and Theta are fitted on the
older part of the data; a rolling-origin backtest over the most recent part scores each one by
MASE. The ensemble weights the methods by inverse backtest error, and the backtest errors at each
horizon step give the prediction intervals.

Each method's parameters are fitted once, before the first backtest origin, and kept: the
forecast from any later origin uses only data up to that origin, so the backtest is honest, and
every origin costs one pass of the filter rather than a refit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from proactive.analytics.forecast_methods import FITTERS, centred_moving_average

METHODS = ("seasonal_naive", "holt", "holt_winters", "theta")

# Timestamps or values: a list, or a numpy array as the callers that hold many usually have.
Numbers = Sequence[float] | npt.NDArray[np.floating[Any]]

_Array = npt.NDArray[np.float64]
# What numpy's annotations make of arithmetic on float64 arrays.
_Floats = npt.NDArray[np.floating[Any]]
_Ints = npt.NDArray[np.int64]
# Forecasts from origins `t` (index of the last observation used) for steps `h`: shape (t, h).
_Predictor = Callable[[_Ints, _Ints], _Array]

# CloudWatch's basic monitoring period: the step when a series has too few points to show its own.
_DEFAULT_STEP_SECONDS = 300.0
# Older buckets are dropped: two weeks at one-minute resolution bounds memory and time.
_MAX_HISTORY_STEPS = 20_160
# Metric periods in common use (CloudWatch's among them); jittered spacings snap to them.
_USUAL_PERIODS_SECONDS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 86_400)
_MAX_HORIZON_STEPS = 10_000
_MIN_POINTS = 3
_SEASON_PERIODS_SECONDS = (3_600.0, 86_400.0, 604_800.0)
# A longer season replaces a shorter one only if its autocorrelation is clearly higher: its
# extra parameters are fitted from fewer cycles.
_SEASON_ACF_MARGIN = 0.1
_MIN_SEASON_ACF = 0.1
# The backtest looks at most a day of five-minute steps ahead, from at most the last 300 origins;
# intervals past its horizon grow from its last step.
_MAX_BACKTEST_STEPS = 288
_MAX_ORIGINS = 300
_MIN_ORIGINS = 3
# Below this many origins per horizon step, interval quantiles are pooled across steps.
_MIN_ORIGINS_PER_STEP_QUANTILE = 30
_MIN_FIT_STEPS = 12
# Parameters are fitted on at most this many steps before the backtest (a week at five minutes):
# fitting time grows with it, and older data says little about the next hours.
_FIT_WINDOW_STEPS = 2_000
# Methods scoring worse than the best by this factor get no weight in the ensemble.
_ENSEMBLE_CUTOFF = 1.25


@dataclass(frozen=True)
class ForecastPoint:
    """The forecast for one step: epoch seconds, the point forecast and its interval."""

    timestamp: float
    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class Forecast:
    """A forecast and the evidence behind it.

    `method` is "ensemble", "naive" (too little data) or the one method used. `backtest_mase`
    holds each method's rolling-origin MASE over the recent data, and the ensemble's when more
    than one method has weight; below 1 beats the in-sample seasonal naive forecast.
    """

    method: str
    step_seconds: float
    season_steps: int | None
    backtest_mase: dict[str, float]
    weights: dict[str, float]
    points: list[ForecastPoint]

    def first_crossing(
        self, threshold: float, *, above: bool = True, use_bound: bool = False
    ) -> ForecastPoint | None:
        """The first point that reaches `threshold`: at or above it when `above`, else at or below.

        With `use_bound` the interval's upper (or lower) bound is compared instead of the point
        forecast, to warn about a breach that is plausible rather than expected.
        """
        for point in self.points:
            if above and (point.upper if use_bound else point.value) >= threshold:
                return point
            if not above and (point.lower if use_bound else point.value) <= threshold:
                return point
        return None


def forecast(
    timestamps: Numbers,
    values: Numbers,
    *,
    horizon_seconds: float,
    step_seconds: float | None = None,
    level: float = 0.9,
    method: str = "ensemble",
) -> Forecast:
    """Forecast `values` for `horizon_seconds` past the last observation, with `level` intervals.

    Timestamps are epoch seconds in any order; points in the same step are averaged, gaps are
    filled linearly and non-finite values dropped. The step defaults to the median spacing,
    snapped to a usual metric period such as 60 or 300 seconds when within 5% of one. At most
    10,000 points are returned, starting one step after the last observation. `method` is
    "ensemble" or one of METHODS; Holt-Winters falls back to Holt when no season is found. A
    series with too few points for a backtest gets a flat "naive" forecast.
    """
    _check_arguments(horizon_seconds, step_seconds, level, method)
    raw, step, last = _regularise(timestamps, values, step_seconds)
    horizon = min(_MAX_HORIZON_STEPS, max(1, math.ceil(horizon_seconds / step - 1e-9)))
    times = last + step * np.arange(1, horizon + 1, dtype=np.float64)
    # Every method is linear in the data's scale (Theta's multiplicative season is scale-free), so
    # working on values within [-1, 1] changes no forecast and keeps squares of huge values finite.
    magnitude = float(np.max(np.abs(raw))) if raw.size else 0.0
    unit = magnitude if magnitude > 0 else 1.0
    y = raw / unit
    if y.size < _MIN_POINTS:
        return _naive_forecast(y, unit, step, times, level)

    backtest_steps = min(horizon, _MAX_BACKTEST_STEPS, max(1, y.size // 5))
    season = _detect_season(y, step, reserve=backtest_steps + _MIN_ORIGINS - 1)
    min_fit = 2 * season if season else _MIN_FIT_STEPS
    origins = min(_MAX_ORIGINS, y.size - backtest_steps + 1 - min_fit)
    if origins < _MIN_ORIGINS:
        return _naive_forecast(y, unit, step, times, level)

    fit_end = y.size - backtest_steps - origins + 1
    start = max(0, fit_end - max(_FIT_WINDOW_STEPS, min_fit))
    z, fit_len = y[start:], fit_end - start
    predictors = {name: FITTERS[name](z, fit_len, season) for name in _method_names(method, season)}
    fitted = _ensemble(predictors, z, fit_len, season, origins, backtest_steps, horizon, level)
    if fitted is None:
        return _naive_forecast(y, unit, step, times, level)
    return Forecast(
        method="ensemble" if len(fitted.weights) > 1 else next(iter(fitted.weights)),
        step_seconds=step,
        season_steps=season,
        backtest_mase=fitted.scores,
        weights=fitted.weights,
        points=_points(
            times, unit, fitted.centre, fitted.centre + fitted.lower, fitted.centre + fitted.upper
        ),
    )


def _check_arguments(horizon_seconds: float, step_seconds: float | None, level: float, method: str) -> None:
    if method != "ensemble" and method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use 'ensemble' or one of {', '.join(METHODS)}")
    if not 0.0 < level < 1.0:
        raise ValueError("level must be between 0 and 1")
    if not (horizon_seconds > 0 and math.isfinite(horizon_seconds)):
        raise ValueError("horizon_seconds must be a positive number")
    if step_seconds is not None and not (step_seconds > 0 and math.isfinite(step_seconds)):
        raise ValueError("step_seconds must be a positive number")


def _method_names(method: str, season: int | None) -> list[str]:
    """The methods fitted: all that apply for the ensemble (Holt-Winters needs a season), else the
    one asked for, Holt standing in for Holt-Winters when there is no season."""
    if method == "ensemble":
        return [name for name in METHODS if season or name != "holt_winters"]
    return ["holt" if method == "holt_winters" and not season else method]


class _Ensemble(NamedTuple):
    """The methods' weights and backtest scores, and the forecast's centre and interval offsets."""

    weights: dict[str, float]
    scores: dict[str, float]
    centre: _Array
    lower: _Array
    upper: _Array


def _ensemble(
    predictors: dict[str, _Predictor],
    z: _Array,
    fit_len: int,
    season: int | None,
    origins: int,
    backtest_steps: int,
    horizon: int,
    level: float,
) -> _Ensemble | None:
    """Backtest the methods from `origins` origins after the first `fit_len` values of `z`, weight
    them by their scores and forecast `horizon` steps past the end; None when no method scores a
    finite error or the forecast is not finite."""
    steps = np.arange(1, backtest_steps + 1, dtype=np.int64)
    backtest_origins = np.arange(fit_len - 1, fit_len - 1 + origins, dtype=np.int64)
    actual = z[backtest_origins[:, None] + steps[None, :]]
    mase_scale = _mase_scale(z[:fit_len], season)
    backtests = {name: predict(backtest_origins, steps) for name, predict in predictors.items()}
    scores = {name: float(np.mean(np.abs(actual - fc)) / mase_scale) for name, fc in backtests.items()}
    # A method whose filter overflowed (values near the float limit) is left out altogether.
    scores = {name: score for name, score in scores.items() if math.isfinite(score)}
    if not scores:
        return None

    weights = _weights(scores)
    combined = sum(w * backtests[name] for name, w in weights.items())
    errors = actual - np.asarray(combined, dtype=np.float64)
    if len(weights) > 1:
        scores["ensemble"] = float(np.mean(np.abs(errors)) / mase_scale)

    final_steps = np.arange(1, horizon + 1, dtype=np.int64)
    last_origin = np.array([z.size - 1], dtype=np.int64)
    mean = sum(w * predictors[name](last_origin, final_steps)[0] for name, w in weights.items())
    centre = np.asarray(mean, dtype=np.float64)
    lower, upper = _interval_offsets(errors, horizon, level)
    if not (np.all(np.isfinite(centre)) and np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
        return None
    return _Ensemble(weights, scores, centre, lower, upper)


def mase(
    actual: npt.ArrayLike, predicted: npt.ArrayLike, insample: npt.ArrayLike, season: int | None = None
) -> float:
    """Mean absolute scaled error of `predicted` against `actual`.

    The scale is the in-sample mean absolute error of the seasonal naive forecast at lag `season`
    (the naive forecast when None or longer than the sample). 0 for a perfect forecast of a
    constant in-sample series, infinite for an imperfect one.
    """
    a = np.asarray(actual, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    x = np.asarray(insample, dtype=np.float64)
    lag = season if season and season < x.size else 1
    if x.size <= lag:
        raise ValueError("the in-sample series needs at least two points")
    error = float(np.mean(np.abs(a - p)))
    scale = float(np.mean(np.abs(x[lag:] - x[:-lag])))
    if scale > 0:
        return error / scale
    return 0.0 if error == 0 else math.inf


def _regularise(timestamps: Numbers, values: Numbers, step: float | None) -> tuple[_Array, float, float]:
    """The series on a grid of `step` ending at the last timestamp, and that step and timestamp."""
    t = np.asarray(timestamps, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or t.shape != v.shape:
        raise ValueError("timestamps and values must be sequences of the same length")
    finite = np.isfinite(t) & np.isfinite(v)
    t, v = t[finite], v[finite]
    if step is None:
        step = _infer_step(t)
    if t.size == 0:
        return np.empty(0), step, 0.0
    last = float(t.max())
    offsets = (t - last) / step
    recent = offsets > -_MAX_HISTORY_STEPS + 0.5
    index = np.rint(offsets[recent]).astype(np.int64)
    index -= index.min()
    sums = np.bincount(index, weights=v[recent])
    counts = np.bincount(index)
    seen = counts > 0
    y = np.empty(sums.size)
    y[seen] = sums[seen] / counts[seen]
    if not seen.all():
        y[~seen] = np.interp(np.flatnonzero(~seen), np.flatnonzero(seen), y[seen])
    return y, step, last


def _infer_step(t: _Array) -> float:
    """The median spacing of distinct timestamps, snapped to a usual metric period within 5%."""
    gaps = np.diff(np.unique(t))
    if gaps.size == 0:
        return _DEFAULT_STEP_SECONDS
    # A point sent twice with jittered timestamps makes a tiny gap that would pull the median down.
    gaps = gaps[gaps >= 0.5 * np.quantile(gaps, 0.75)]
    step = float(np.median(gaps))
    for period in _USUAL_PERIODS_SECONDS:
        if abs(step - period) <= 0.05 * period:
            return float(period)
    return step


def _naive_forecast(y: _Array, unit: float, step: float, times: _Floats, level: float) -> Forecast:
    """A flat forecast at the last value, its interval growing with the square root of the step."""
    if y.size == 0:
        return Forecast("naive", step, None, {}, {"naive": 1.0}, [])
    value = float(y[-1])
    spread = float(np.quantile(np.abs(np.diff(y)), level)) if y.size > 1 else 0.5 * abs(value)
    width = spread * np.sqrt(np.arange(1, times.size + 1))
    centre = np.full(times.size, value)
    return Forecast(
        "naive", step, None, {}, {"naive": 1.0}, _points(times, unit, centre, centre - width, centre + width)
    )


def _points(
    times: _Floats, unit: float, value: _Floats, lower: _Floats, upper: _Floats
) -> list[ForecastPoint]:
    """Forecast points in the data's own units; bounds beyond the float range are held at its limit."""
    limit = np.finfo(np.float64).max
    with np.errstate(over="ignore"):
        columns = [np.clip(column * unit, -limit, limit).tolist() for column in (value, lower, upper)]
    return [
        ForecastPoint(timestamp=t, value=v, lower=lo, upper=up)
        for t, v, lo, up in zip(times.tolist(), *columns, strict=True)
    ]


def _detect_season(y: _Array, step: float, reserve: int) -> int | None:
    """The season in steps among an hour, a day and a week, or None when none is significant.

    Each candidate needs two full cycles before the `reserve` steps kept for the backtest, and
    three in all: removing the trend with a centred moving average spends one. The detrended
    series' autocorrelation at one season must pass the Bartlett test at 95% and exceed 0.1.
    """
    best: tuple[int, float] | None = None
    for period in _SEASON_PERIODS_SECONDS:
        m = round(period / step)
        if m < 2 or abs(m * step - period) > 0.02 * period or y.size - reserve < 2 * m:
            continue
        strength = _season_strength(y, m)
        if strength is None:
            continue
        if best is None or strength > best[1] + _SEASON_ACF_MARGIN:
            best = (m, strength)
    return best[0] if best else None


def _season_strength(y: _Array, m: int) -> float | None:
    """The lag-`m` autocorrelation of the detrended series if significant, else None."""
    trend, first = centred_moving_average(y, m)
    residual = y[first : first + trend.size] - trend
    residual -= residual.mean()
    n = residual.size
    if n < 2 * m:
        return None
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(residual, size)
    autocovariance = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, size)[: m + 1]
    if autocovariance[0] <= 0:
        return None
    r = autocovariance / autocovariance[0]
    threshold = 1.645 * math.sqrt((1 + 2 * float(np.sum(r[1:m] ** 2))) / n)
    if r[m] <= max(threshold, _MIN_SEASON_ACF):
        return None
    # Compared across seasons unbiased by the shorter overlap at longer lags.
    return float(r[m]) * n / (n - m)


def _mase_scale(insample: _Array, season: int | None) -> float:
    """The seasonal naive in-sample MAE, falling back to the naive one and then to a tiny unit."""
    for lag in (season or 1, 1):
        if insample.size > lag:
            scale = float(np.mean(np.abs(insample[lag:] - insample[:-lag])))
            if scale > 0:
                return scale
    return max(float(np.max(np.abs(insample))), 1.0) * 1e-12


def _weights(scores: dict[str, float]) -> dict[str, float]:
    """Inverse-MASE weights over the methods within a factor of the best one."""
    best = min(scores.values())
    if best <= 0:
        tied = [name for name, score in scores.items() if score <= 0]
        return {name: 1.0 / len(tied) for name in tied}
    kept = {name: 1.0 / score for name, score in scores.items() if score <= best * _ENSEMBLE_CUTOFF}
    total = sum(kept.values())
    return {name: inverse / total for name, inverse in kept.items()}


def _interval_offsets(errors: _Array, horizon: int, level: float) -> tuple[_Array, _Array]:
    """Offsets from the point forecast to the interval bounds for steps 1..horizon.

    Each step takes its own quantiles of the backtest errors when there are enough origins,
    otherwise quantiles pooled over steps after dividing by sqrt(step). Beyond the backtest the
    last step's offsets grow with sqrt(step). Bounds never narrow with the horizon.
    """
    origins, steps = errors.shape
    tails = ((1 - level) / 2, (1 + level) / 2)
    root = np.sqrt(np.arange(1, steps + 1))
    if origins >= _MIN_ORIGINS_PER_STEP_QUANTILE:
        low, high = np.quantile(errors, tails, axis=0)
    else:
        pooled_low, pooled_high = np.quantile(errors / root, tails)
        low, high = pooled_low * root, pooled_high * root
    if horizon > steps:
        growth = np.sqrt(np.arange(steps + 1, horizon + 1) / steps)
        low = np.concatenate((low, low[-1] * growth))
        high = np.concatenate((high, high[-1] * growth))
    low, high = low[:horizon], high[:horizon]
    return np.minimum.accumulate(np.minimum(low, 0.0)), np.maximum.accumulate(np.maximum(high, 0.0))
