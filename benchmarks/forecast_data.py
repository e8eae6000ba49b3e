"""Real time series shipped inside PyPI packages, for the forecasting benchmark (no download at run time).

Each loader returns a :class:`Series`: a frame with columns ``ds`` (datetime64), ``y`` and, for a panel,
``series``, plus its metadata (name, pandas frequency, seasonal period, horizon, package). Long series are
trimmed to a recent window so that a fit at a 20-30 s budget is meaningful.

Why each package (all in the ``bench`` extra of pyproject.toml, except those the ``forecast`` and core
dependencies already bring):

* statsforecast (the ``forecast`` extra): ``AirPassengersDF``, the classic monthly seasonal series.
* statsmodels (brought by statsforecast): ``co2`` (weekly Mauna Loa CO2, with missing weeks as NaN),
  ``macrodata`` (quarterly US real GDP, seasonally adjusted: a trend, no seasonality), ``nile`` (yearly).
  Declared in ``bench`` too, since the benchmark imports it directly and FLAML's ARIMA/SARIMAX/Holt-Winters
  need it.
* pmdarima: ``wineind`` (monthly Australian wine sales, seasonal), ``woolyrnq`` (quarterly Australian
  wool production, seasonal) and ``msft`` (Microsoft's daily close on exchange trading days: business days
  with holidays missing). Its other series (gasoline, ...) are downloaded on first use, so they are not used.
* vega_datasets: ``stocks`` (monthly prices of five symbols: the panel, series of unequal lengths),
  ``seattle-weather`` (daily maximum temperature) and ``us-employment`` (monthly US nonfarm payrolls,
  seasonally adjusted). Only the datasets it ships locally (``vega_datasets.local_data``) are used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd


@dataclass
class Series:
    name: str
    frame: pd.DataFrame  # ds, y[, series]
    frequency: str  # pandas alias of the calendar (B: trading days, holidays missing)
    season: int  # seasonal period used for the seasonal naive forecast and the MASE scale (1: none)
    horizon: int
    package: str
    seasonal: bool
    description: str
    notes: list[str] = field(default_factory=list)

    @property
    def panel(self) -> bool:
        return "series" in self.frame.columns

    def meta(self) -> dict:
        lengths = self.frame.groupby("series").size() if self.panel else pd.Series([len(self.frame)])
        return {"name": self.name, "frequency": self.frequency, "season": self.season, "horizon": self.horizon,
                "package": self.package, "seasonal": self.seasonal, "panel": self.panel,
                "n_series": int(len(lengths)), "length": int(lengths.max()), "min_length": int(lengths.min()),
                "start": str(self.frame.ds.min().date()), "end": str(self.frame.ds.max().date()),
                "missing_y": int(self.frame.y.isna().sum()), "description": self.description, "notes": self.notes}


def _frame(ds, y) -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.to_datetime(ds), "y": np.asarray(y, dtype=float)}).reset_index(drop=True)


def _last(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    return frame.iloc[-n:].reset_index(drop=True)


def air_passengers() -> Series:
    from statsforecast.utils import AirPassengersDF

    df = AirPassengersDF
    return Series("air_passengers", _frame(df.ds, df.y), "ME", 12, 12, "statsforecast", True,
                  "monthly international airline passengers 1949-1960 (month-end stamps)")


def wineind() -> Series:
    from pmdarima.datasets import load_wineind

    y = load_wineind(as_series=True)
    ds = pd.to_datetime(y.index, format="%b %Y")
    return Series("wineind", _frame(ds, y.to_numpy()), "MS", 12, 12, "pmdarima", True,
                  "monthly Australian wine sales by winemakers 1980-1994")


def us_nonfarm() -> Series:
    from vega_datasets import local_data

    df = local_data("us-employment")
    return Series("us_nonfarm", _frame(df.month, df.nonfarm), "MS", 1, 12, "vega_datasets", False,
                  "monthly US nonfarm payrolls 2006-2015 (thousands, seasonally adjusted: no seasonality)")


def woolyrnq() -> Series:
    from pmdarima.datasets import load_woolyrnq

    y = load_woolyrnq(as_series=True)
    ds = pd.PeriodIndex([f"{s.split()[1]}{s.split()[0]}" for s in y.index], freq="Q").to_timestamp()
    return Series("woolyrnq", _frame(ds, y.to_numpy()), "QS", 4, 8, "pmdarima", True,
                  "quarterly Australian woollen yarn production 1965-1994")


def us_realgdp() -> Series:
    from statsmodels.datasets import macrodata

    df = macrodata.load_pandas().data
    ds = pd.PeriodIndex([f"{int(a)}Q{int(q)}" for a, q in zip(df.year, df.quarter)], freq="Q").to_timestamp()
    return Series("us_realgdp", _frame(ds, df.realgdp), "QS", 1, 8, "statsmodels", False,
                  "quarterly US real GDP 1959-2009 (seasonally adjusted: a trend, no seasonality)")


def co2() -> Series:
    from statsmodels.datasets import co2 as co2_data

    df = co2_data.load_pandas().data
    frame = _last(_frame(df.index, df.co2), 1000)
    return Series("co2", frame, "W-SAT", 52, 13, "statsmodels", True,
                  "weekly Mauna Loa CO2 (ppm), the last 1000 weeks to 2001; missing weeks kept as NaN targets",
                  ["trimmed to the last 1000 of 2284 weeks"])


def seattle_temp() -> Series:
    from vega_datasets import local_data

    df = local_data("seattle-weather")
    frame = _last(_frame(df.date, df.temp_max), 1000)
    return Series("seattle_temp_max", frame, "D", 1, 14, "vega_datasets", False,
                  "daily maximum temperature in Seattle (C), the last 1000 days to 2015 (a yearly cycle, "
                  "no weekly one: season 1 at a 14-day horizon)", ["trimmed to the last 1000 of 1461 days"])


def msft() -> Series:
    from pmdarima.datasets import load_msft

    df = load_msft()
    frame = _last(_frame(df.Date, df.Close), 750)
    return Series("msft_close", frame, "B", 1, 10, "pmdarima", False,
                  "Microsoft daily close on exchange trading days (holidays missing), the last 750 days to 2017-11",
                  ["trimmed to the last 750 of 7983 trading days"])


def nile() -> Series:
    from statsmodels.datasets import nile as nile_data

    df = nile_data.load_pandas().data
    ds = pd.to_datetime(df.year.astype(int).astype(str) + "-01-01")
    return Series("nile", _frame(ds, df.volume), "YS", 1, 10, "statsmodels", False,
                  "yearly Nile flow at Aswan 1871-1970")


def stocks_panel() -> Series:
    from vega_datasets import local_data

    df = local_data("stocks")
    frame = pd.DataFrame({"ds": pd.to_datetime(df.date), "y": df.price.astype(float), "series": df.symbol.astype(str)})
    frame = frame.sort_values(["series", "ds"]).reset_index(drop=True)
    return Series("stocks_panel", frame, "MS", 1, 12, "vega_datasets", False,
                  "monthly prices of AAPL, AMZN, GOOG, IBM, MSFT 2000-2010 (GOOG from 2004-08: unequal lengths)")


LOADERS: dict[str, Callable[[], Series]] = {
    "air_passengers": air_passengers, "wineind": wineind, "us_nonfarm": us_nonfarm, "woolyrnq": woolyrnq,
    "us_realgdp": us_realgdp, "co2": co2, "seattle_temp_max": seattle_temp, "msft_close": msft, "nile": nile,
    "stocks_panel": stocks_panel,
}


def load(name: str) -> Series:
    return LOADERS[name]()


def load_all() -> list[Series]:
    return [loader() for loader in LOADERS.values()]


def split(series: Series, origin: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training part and the test part of one test origin: origin 0 tests the last ``horizon`` rows of
    each series, origin k the ``horizon`` rows before origin k-1's test; the training part is every row
    before the test (later rows are dropped)."""
    frame = series.frame.sort_values(["series", "ds"] if series.panel else ["ds"]).reset_index(drop=True)
    if series.panel:
        position = frame.groupby("series").cumcount(ascending=False)
    else:
        position = pd.Series(np.arange(len(frame))[::-1], index=frame.index)
    test = (position >= origin * series.horizon) & (position < (origin + 1) * series.horizon)
    train = position >= (origin + 1) * series.horizon
    return frame[train].reset_index(drop=True), frame[test].reset_index(drop=True)


__all__ = ["LOADERS", "Series", "load", "load_all", "split"]
