"""Prophet with statsforecast's model face (``fit(y=...)``, ``predict(h, level)``), on a series' step index.

Prophet wants dates; a series here is a sequence of steps (its own calendar, gaps closed up), so step
``k`` becomes day ``k`` after an arbitrary origin and the seasonality is one custom Fourier term with
the task's period in steps (Prophet's built-in yearly/weekly/daily terms are off). Its interval comes
from posterior sampling: drawn under a fixed seed with numpy's global random state put back afterwards,
and cmdstanpy's per-fit log lines are silenced only while Prophet runs.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Iterator

import numpy as np
import pandas as pd

ORIGIN = pd.Timestamp("2000-01-01")


@contextlib.contextmanager
def _quiet_and_seeded(seed: int) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("cmdstanpy", "prophet")]
    levels = [logger.level for logger in loggers]
    state = np.random.get_state()
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


class ProphetModel:
    """One series' Prophet model; ``config`` holds the searched priors, seasonality mode and Fourier order."""

    def __init__(self, config: dict[str, Any], season: int, seed: int = 0) -> None:
        self.config, self.season, self.seed = dict(config), season, seed

    def fit(self, y: np.ndarray) -> "ProphetModel":
        from prophet import Prophet

        self.n_ = len(y)
        self.model_ = Prophet(
            changepoint_prior_scale=float(self.config["changepoint_prior_scale"]),
            seasonality_prior_scale=float(self.config["seasonality_prior_scale"]),
            seasonality_mode=self.config["seasonality_mode"], yearly_seasonality=False, weekly_seasonality=False,
            daily_seasonality=False, uncertainty_samples=200,
        )
        if self.season > 1:
            order = max(1, min(int(self.config["fourier_order"]), self.season // 2))
            self.model_.add_seasonality("season", period=float(self.season), fourier_order=order)
        frame = pd.DataFrame({"ds": ORIGIN + pd.to_timedelta(np.arange(self.n_), unit="D"), "y": y})
        with _quiet_and_seeded(self.seed):
            self.model_.fit(frame)
        return self

    def predict(self, h: int, level: list[float] | None = None) -> dict[str, np.ndarray]:
        future = pd.DataFrame({"ds": ORIGIN + pd.to_timedelta(np.arange(self.n_, self.n_ + h), unit="D")})
        if level:
            self.model_.interval_width = level[0] / 100
        with _quiet_and_seeded(self.seed):
            out = self.model_.predict(future)
        result = {"mean": out["yhat"].to_numpy()}
        if level:
            result[f"lo-{level[0]}"], result[f"hi-{level[0]}"] = out["yhat_lower"].to_numpy(), out["yhat_upper"].to_numpy()
        return result
