"""Forecast accuracy: MASE (scaled by each series' in-sample seasonal naive error), sMAPE, and interval scores."""

from __future__ import annotations

import numpy as np


def seasonal_naive_scale(history: np.ndarray, season: int) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast (the naive one for short histories)."""
    values = history[~np.isnan(history)]
    lag = season if len(values) > season else 1
    if len(values) <= lag:
        return float("nan")
    scale = float(np.mean(np.abs(values[lag:] - values[:-lag])))
    return scale if scale > 0 else float(np.mean(np.abs(values)) or 1.0)


def series_scales(y: np.ndarray, series: np.ndarray, time: np.ndarray, season: int) -> dict[int, float]:
    """Each series' :func:`seasonal_naive_scale` over its rows ``y`` put in time order (series codes as keys)."""
    scales = {}
    for code in np.unique(series):
        own = series == code
        scales[int(code)] = seasonal_naive_scale(y[own][np.argsort(time[own], kind="stable")], season)
    return scales


def mase(y: np.ndarray, pred: np.ndarray, scale: np.ndarray) -> float:
    """Mean absolute error over rows, each divided by its series' seasonal naive scale."""
    return float(np.mean(np.abs(y - pred) / scale))


def smape(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Symmetric MAPE in percent (0-200); a row where both are zero counts as exact."""
    denominator = np.abs(y) + np.abs(pred)
    ratio = np.where(denominator == 0, 0.0, 2 * np.abs(y - pred) / np.where(denominator == 0, 1, denominator))
    return float(100 * np.average(ratio, weights=sample_weight))


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of values inside their interval."""
    return float(np.mean((y >= lower) & (y <= upper)))


def weighted_quantile_loss(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, mean: np.ndarray, level: float) -> float:
    """Quantile loss at the interval's two quantiles and the median (the mean), scaled by sum |y| (GluonTS' wQL)."""
    alpha = (1 - level) / 2

    def pinball(q: float, pred: np.ndarray) -> float:
        diff = y - pred
        return float(np.sum(np.maximum(q * diff, (q - 1) * diff)))

    total = pinball(alpha, lower) + pinball(0.5, mean) + pinball(1 - alpha, upper)
    return float(2 * total / 3 / max(np.sum(np.abs(y)), 1e-12))


__all__ = ["coverage", "mase", "seasonal_naive_scale", "series_scales", "smape", "weighted_quantile_loss"]
