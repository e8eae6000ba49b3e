"""Conformal prediction intervals from backtest residuals: they work for every family.

A backtest window's forecasts are out-of-sample, so their errors, scaled by each series' in-sample
seasonal naive error, say how wide an interval must be. The half-width at ``coverage`` is the
``coverage`` quantile of the scaled absolute errors at the same step ahead when there are at least
:data:`MIN_PER_STEP` of them, else of all steps' errors; it is multiplied back by the series' scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_PER_STEP = 20


@dataclass(frozen=True)
class ConformalIntervals:
    """Scaled absolute backtest errors by step ahead, and the window each came from."""

    errors: np.ndarray
    ahead: np.ndarray
    window: np.ndarray

    def half_width(self, ahead: np.ndarray, coverage: float, keep: np.ndarray | None = None) -> np.ndarray:
        errors, steps = (self.errors, self.ahead) if keep is None else (self.errors[keep], self.ahead[keep])
        if len(errors) == 0:
            return np.full(len(ahead), np.nan)
        pooled = _quantile(errors, coverage)
        out = np.full(len(ahead), pooled)
        for step in np.unique(ahead):
            own = errors[steps == step]
            if len(own) >= MIN_PER_STEP:
                out[ahead == step] = _quantile(own, coverage)
        return out

    def backtest_coverage(self, coverage: float) -> float:
        """Coverage on each window of the interval learned from the other windows (NaN with one window)."""
        windows = np.unique(self.window)
        if len(windows) < 2:
            return float("nan")
        inside = []
        for w in windows:
            held = self.window == w
            width = self.half_width(self.ahead[held], coverage, keep=~held)
            inside.append(self.errors[held] <= width)
        return float(np.mean(np.concatenate(inside)))


def _quantile(values: np.ndarray, coverage: float) -> float:
    """The finite-sample conformal quantile: the ceil((n + 1) * coverage)-th smallest value."""
    n = len(values)
    rank = min(n, int(np.ceil((n + 1) * coverage)))
    return float(np.sort(values)[rank - 1])


__all__ = ["ConformalIntervals"]
