"""Frequencies, seasonal periods and each series' own step index.

A series' steps are the positions of its timestamps, sorted: a calendar with holidays missing (exchange
trading days) or with gaps is modelled on its own step index, so step ``k + 1`` always follows step ``k``.
Future timestamps after a series' end are the next steps in order; where the training calendar was
regular, they must also be the next timestamps of its frequency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Seasonal period by frequency family (the offset's name without its anchor).
SEASONS = {"Y": 1, "A": 1, "Q": 4, "M": 12, "W": 52, "D": 7, "B": 5, "C": 5, "h": 24, "H": 24, "min": 60, "T": 60,
           "s": 60, "S": 60, "step": 1}
#: Calendar features that vary within a season of the frequency, known for every future timestamp.
CALENDAR_FEATURES = {"Q": ("quarter",), "M": ("month",), "W": ("weekofyear",), "D": ("dayofweek", "dayofmonth", "month"),
                     "B": ("dayofweek", "dayofmonth", "month"), "C": ("dayofweek", "dayofmonth", "month"),
                     "h": ("hour", "dayofweek"), "H": ("hour", "dayofweek"), "min": ("minute", "hour"),
                     "T": ("minute", "hour")}


@dataclass(frozen=True)
class Frequency:
    """A series' frequency: its pandas offset alias ("MS", "B", "W-SUN", ...; "step" for integer time)."""

    alias: str
    regular: bool  # every timestamp of the frequency between the first and the last is present

    @property
    def family(self) -> str:
        base = self.alias.split("-")[0].lstrip("0123456789")
        for suffix in ("S", "E"):
            if len(base) > 1 and base.endswith(suffix) and base[:-1] in SEASONS:
                return base[:-1]
        return base

    @property
    def season(self) -> int:
        return SEASONS.get(self.family, 1)

    @property
    def calendar_features(self) -> tuple[str, ...]:
        return CALENDAR_FEATURES.get(self.family, ())

    def describe(self) -> str:
        return self.alias + ("" if self.regular else " (irregular: gaps closed up)")


def infer_frequency(times: np.ndarray) -> Frequency:
    """The frequency of sorted, distinct timestamps (datetime64) or integer steps."""
    if not np.issubdtype(times.dtype, np.datetime64):
        diffs = np.diff(times.astype(np.int64))
        return Frequency("step", bool(len(diffs) == 0 or (diffs == 1).all()))
    index = pd.DatetimeIndex(times)
    if len(index) >= 3:
        alias = pd.infer_freq(index)
        if alias is not None:
            return Frequency(alias, True)
    alias = _nearest_alias(index)
    grid = pd.date_range(index[0], index[-1], freq=alias)
    return Frequency(alias, len(grid) == len(index) and bool((grid == index).all()))


def _nearest_alias(index: pd.DatetimeIndex) -> str:
    """The frequency whose step is the series' typical gap (timestamps with some steps missing)."""
    if len(index) < 2:
        return "D"
    days = float(np.median(np.diff(index.asi8))) / 86_400e9
    if days < 1 / 1440 * 1.5:
        return "min"
    if days < 1 / 24 * 1.5:
        return "h"
    if days < 1.5:
        return "B" if (index.dayofweek < 5).all() else "D"
    if days < 10:
        return "W-" + index[0].day_name()[:3].upper()
    if days < 45:
        return "MS" if (index.day == 1).all() else "ME"
    if days < 135:
        return "QS" if (index.day == 1).all() else "QE"
    return "YS" if (index.day == 1).all() else "YE"


def calendar_columns(times: np.ndarray, features: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Calendar features of ``times`` (known for any future timestamp)."""
    if not features:
        return {}
    index = pd.DatetimeIndex(times)
    values = {"quarter": index.quarter, "month": index.month, "weekofyear": index.isocalendar().week.to_numpy(),
              "dayofweek": index.dayofweek, "dayofmonth": index.day, "hour": index.hour, "minute": index.minute}
    return {f"cal_{name}": np.asarray(values[name], dtype=np.int64) for name in features}


def next_timestamps(last: np.datetime64 | int, frequency: Frequency, count: int) -> np.ndarray:
    """The ``count`` timestamps of ``frequency`` after ``last``."""
    if frequency.alias == "step":
        return np.arange(int(last) + 1, int(last) + 1 + count)
    return pd.date_range(pd.Timestamp(last), periods=count + 1, freq=frequency.alias)[1:].to_numpy()


__all__ = ["Frequency", "calendar_columns", "infer_frequency", "next_timestamps"]
