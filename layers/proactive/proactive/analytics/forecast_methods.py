"""The forecasting methods, each fitted once and then run from many origins: seasonal naive,
damped Holt (and Holt-Winters, with a season) by a small parameter grid on one-step error, and
Theta. Each fit returns a predictor: forecasts from origins `t` for steps `h`, shape (t, h)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

_Array = npt.NDArray[np.float64]
_Ints = npt.NDArray[np.int64]
_Predictor = Callable[[_Ints, _Ints], _Array]

# Parameter grids: (alphas, beta as a share of alpha, phis, gamma as a share of 1 - alpha). Damping
# close to 1 matters at this resolution: phi = 0.98 halves a trend's effect within three hours of
# five-minute steps. The seasonal grid is coarser because each of its updates costs more.
_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.7, 0.9, 1.0)
_HOLT_GRID = (_ALPHAS, (0.01, 0.05, 0.2), (0.8, 0.9, 0.95, 0.98, 0.995, 1.0), (0.0,))
_HOLT_WINTERS_GRID = (_ALPHAS, (0.01, 0.1), (0.8, 0.95, 0.995, 1.0), (0.0, 0.05, 0.2))
_SES_ALPHAS = tuple(float(a) for a in np.geomspace(0.01, 1.0, 30))


def centred_moving_average(y: _Array, m: int) -> tuple[_Array, int]:
    """The centred moving average over one season (2xm for even m) and the index of its first value."""
    cumulative = np.concatenate(([0.0], np.cumsum(y)))
    average = (cumulative[m:] - cumulative[:-m]) / m
    if m % 2:
        return average, (m - 1) // 2
    return (average[:-1] + average[1:]) / 2, m // 2


def _damped_sums(phi: float, steps: _Ints) -> _Array:
    """phi + phi^2 + ... + phi^h for each h in `steps`."""
    h = steps.astype(np.float64)
    if phi == 1.0:
        return h
    return np.asarray(phi * (1 - phi**h) / (1 - phi), dtype=np.float64)


def _seasonal_lookup(origins: _Ints, steps: _Ints, m: int) -> _Ints:
    """Index of the latest observation in the same season phase as origin + step, at or before origin."""
    back = m * ((steps - 1) // m + 1)
    return np.asarray(origins[:, None] + (steps - back)[None, :], dtype=np.int64)


def _fit_seasonal_naive(z: _Array, fit_len: int, season: int | None) -> _Predictor:
    def predict(origins: _Ints, steps: _Ints) -> _Array:
        if season is None:
            return np.repeat(z[origins][:, None], steps.size, axis=1)
        return z[_seasonal_lookup(origins, steps, season)]

    return predict


def _holt_winters_start(z: _Array, m: int) -> tuple[float, float, _Array]:
    """Initial level, trend and seasonal states from the first cycles (up to four)."""
    cycles = min(4, z.size // m)
    means = z[: cycles * m].reshape(cycles, m).mean(axis=1)
    trend = float(means[-1] - means[0]) / ((cycles - 1) * m) if cycles > 1 else 0.0
    position = np.arange(cycles * m, dtype=np.float64) - (m - 1) / 2
    detrended = z[: cycles * m] - (means[0] + trend * position)
    seasonal = detrended.reshape(cycles, m).mean(axis=0)
    seasonal -= seasonal.mean()
    return float(means[0]) - trend * (m + 1) / 2, trend, seasonal


def _grid_sse(
    z: _Array,
    alpha: _Array,
    beta: _Array,
    phi: _Array,
    gamma: _Array | None,
    start: tuple[float, float, _Array | None],
    burn: int,
) -> _Array:
    """One-step squared error of additive damped exponential smoothing for every parameter set.

    All sets advance together, one vectorised update per observation. Without `gamma` there is
    no seasonal state.
    """
    level0, trend0, seasonal0 = start
    level = np.full(alpha.size, level0)
    trend = np.full(alpha.size, trend0)
    sse = np.zeros(alpha.size)
    error = np.empty(alpha.size)
    scratch = np.empty(alpha.size)
    observations = z.tolist()
    # In-place updates: at a few hundred parameter sets, allocation is a large share of each step.
    # `trend` holds phi * trend and `level` holds level + phi * trend until the error is known.
    multiply, add, subtract = np.multiply, np.add, np.subtract
    with np.errstate(over="ignore", invalid="ignore"):
        if gamma is None or seasonal0 is None:
            for t, observed in enumerate(observations):
                multiply(phi, trend, out=trend)
                add(level, trend, out=level)
                subtract(observed, level, out=error)
                if t >= burn:
                    multiply(error, error, out=scratch)
                    add(sse, scratch, out=sse)
                multiply(alpha, error, out=scratch)
                add(level, scratch, out=level)
                multiply(beta, error, out=scratch)
                add(trend, scratch, out=trend)
        else:
            m = seasonal0.size
            seasonal = np.repeat(seasonal0[:, None], alpha.size, axis=1)
            for t, observed in enumerate(observations):
                phase = seasonal[t % m]
                multiply(phi, trend, out=trend)
                add(level, trend, out=level)
                subtract(observed, level, out=error)
                subtract(error, phase, out=error)
                if t >= burn:
                    multiply(error, error, out=scratch)
                    add(sse, scratch, out=sse)
                multiply(alpha, error, out=scratch)
                add(level, scratch, out=level)
                multiply(beta, error, out=scratch)
                add(trend, scratch, out=trend)
                multiply(gamma, error, out=scratch)
                add(phase, scratch, out=phase)
    return np.where(np.isfinite(sse), sse, np.inf)


def _parameter_grid(seasonal: bool) -> tuple[_Array, _Array, _Array, _Array]:
    """Every combination of alpha, beta, phi and gamma in the grid."""
    grid = _HOLT_WINTERS_GRID if seasonal else _HOLT_GRID
    a, b, p, g = (axis.ravel() for axis in np.meshgrid(*grid, indexing="ij"))
    return a, a * b, p, g * (1 - a)


def _fit_damped(z: _Array, fit_len: int, season: int | None) -> _Predictor:
    """Damped additive Holt (or Holt-Winters with a season), parameters by grid search on SSE."""
    if season:
        level0, trend0, seasonal0 = _holt_winters_start(z[:fit_len], season)
    else:
        level0, trend0, seasonal0 = float(z[0]), 0.0, None
    alpha, beta, phi, gamma = _parameter_grid(seasonal=season is not None)
    sse = _grid_sse(
        z[:fit_len],
        alpha,
        beta,
        phi,
        gamma if season else None,
        (level0, trend0, seasonal0),
        burn=season or 1,
    )
    best = int(np.argmin(sse))
    a, b, p, g = float(alpha[best]), float(beta[best]), float(phi[best]), float(gamma[best])

    levels = np.empty(z.size)
    trends = np.empty(z.size)
    level, trend = level0, trend0
    if seasonal0 is None or season is None:
        for t, observed in enumerate(z.tolist()):
            damped = p * trend
            error = observed - level - damped
            level += damped + a * error
            trend = damped + b * error
            levels[t], trends[t] = level, trend
        phases = None
    else:
        # phases[t + m] is the seasonal state updated at t; the first m hold the initial states.
        state = seasonal0.tolist() + [0.0] * z.size
        for t, observed in enumerate(z.tolist()):
            damped = p * trend
            error = observed - level - damped - state[t]
            level += damped + a * error
            trend = damped + b * error
            state[t + season] = state[t] + g * error
            levels[t], trends[t] = level, trend
        phases = np.asarray(state)

    def predict(origins: _Ints, steps: _Ints) -> _Array:
        predicted = levels[origins][:, None] + _damped_sums(p, steps)[None, :] * trends[origins][:, None]
        if phases is not None and season is not None:
            predicted += phases[_seasonal_lookup(origins, steps, season) + season]
        return np.asarray(predicted, dtype=np.float64)

    return predict


def _fit_holt(z: _Array, fit_len: int, season: int | None) -> _Predictor:
    return _fit_damped(z, fit_len, None)


def _fit_theta(z: _Array, fit_len: int, season: int | None) -> _Predictor:
    """The standard Theta method: SES on the deseasonalised series plus half its regression drift.

    The seasonal indices come from a classical decomposition of the fitting data, multiplicative
    when the series is positive. The forecast from origin t at step h is
    l_t + b_t / 2 * (h - 1 + (1 - (1 - alpha)^(t+1)) / alpha), where b_t is the least-squares
    slope of the deseasonalised series up to t (Hyndman & Billah, 2003).
    """
    indices: _Array | None = None
    multiplicative = False
    if season:
        multiplicative = bool(np.min(z) > 0)
        indices = _seasonal_indices(z[:fit_len], season, multiplicative)
        if multiplicative and np.min(indices) <= 0:
            multiplicative = False
            indices = _seasonal_indices(z[:fit_len], season, multiplicative)
    phase = np.arange(z.size) % season if season else None
    if indices is None or phase is None:
        x = z
    else:
        x = z / indices[phase] if multiplicative else z - indices[phase]

    alphas = np.asarray(_SES_ALPHAS)
    zeros = np.zeros(alphas.size)
    sse = _grid_sse(x[:fit_len], alphas, zeros, zeros, None, (float(x[0]), 0.0, None), burn=1)
    alpha = float(alphas[int(np.argmin(sse))])
    levels = np.empty(x.size)
    level = float(x[0])
    for t, observed in enumerate(x.tolist()):
        level += alpha * (observed - level)
        levels[t] = level
    slopes = _running_slopes(x)

    def predict(origins: _Ints, steps: _Ints) -> _Array:
        smoothing = (1 - (1 - alpha) ** (origins.astype(np.float64) + 1)) / alpha
        drift = (steps - 1)[None, :] + smoothing[:, None]
        predicted = levels[origins][:, None] + 0.5 * slopes[origins][:, None] * drift
        if indices is not None:
            seasonal = indices[(origins[:, None] + steps[None, :]) % indices.size]
            predicted = predicted * seasonal if multiplicative else predicted + seasonal
        return np.asarray(predicted, dtype=np.float64)

    return predict


def _seasonal_indices(z: _Array, m: int, multiplicative: bool) -> _Array:
    """Classical decomposition's seasonal index for each phase (position modulo m from z[0])."""
    trend, first = centred_moving_average(z, m)
    position = np.arange(trend.size) + first
    with np.errstate(divide="ignore", invalid="ignore"):
        detrended = z[position] / trend if multiplicative else z[position] - trend
    phase = position % m
    sums = np.bincount(phase, weights=detrended, minlength=m)
    counts = np.bincount(phase, minlength=m)
    indices = sums / np.maximum(counts, 1)
    if multiplicative:
        return np.asarray(indices / indices.mean(), dtype=np.float64)
    return np.asarray(indices - indices.mean(), dtype=np.float64)


def _running_slopes(x: _Array) -> _Array:
    """Least-squares slope of x[0..t] against time, for every t (0 where undefined)."""
    centred = x - x[0]
    t = np.arange(x.size, dtype=np.float64)
    count = t + 1
    sum_t = t * count / 2
    sum_tt = t * count * (2 * t + 1) / 6
    sum_x = np.cumsum(centred)
    sum_tx = np.cumsum(t * centred)
    variance = sum_tt - sum_t**2 / count
    covariance = sum_tx - sum_t * sum_x / count
    slopes = np.zeros(x.size)
    np.divide(covariance, variance, out=slopes, where=variance > 0)
    return slopes


FITTERS: dict[str, Callable[[_Array, int, int | None], _Predictor]] = {
    "seasonal_naive": _fit_seasonal_naive,
    "holt": _fit_holt,
    "holt_winters": _fit_damped,
    "theta": _fit_theta,
}
