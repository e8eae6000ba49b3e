"""automl forecasting vs the seasonal naive forecast vs FLAML's ts_forecast, at equal budget, on real series.

    python -m benchmarks.forecast_compare --budget 20 --seeds 0 1 2 --origins 3

For each series of ``benchmarks/forecast_data.py`` (and the panel) and each test origin, ``horizon`` steps
of each series are the test: origin 0 the last ``horizon`` steps, origin 1 the ``horizon`` steps before
them, and so on (``--origins``); the training part is every step before the test. One test window says
little (a recession, an earnings day), so a series' score is the mean over its origins. For each origin and
seed, both tools fit on the training part with the same time budget and seed:

* automl: ``AutoML(task="forecast", metric="mase", time_budget=B, seed=s, tracking=False).fit(train[["ds"
  (, "series")]], train.y, time_column="ds", horizon=h(, series_id_column="series"))``; the season is
  inferred from the frequency (``--pass-season`` passes the metadata's instead). Also recorded: its 90%
  interval's empirical coverage on the test (``predict_interval(X_future, 0.9)``), the shipped model's 90%
  coverage on its backtest windows and where its interval comes from (``interval_source``), the best
  family, trials.
* FLAML: ``AutoML().fit(X_train=train[["ds"]], y_train=train.y, task="ts_forecast", period=p, metric="mae",
  time_budget=B, seed=s)``. On one series MAE ranks models exactly as MASE does (the scale is a constant),
  so metric="mae" asks FLAML for the same thing (its default would be mape). FLAML needs a regular
  frequency and no missing target: a calendar with holidays missing is reindexed to its frequency with the
  new days forward-filled, missing targets are interpolated linearly, and ``period`` is the number of
  regular steps up to the last test timestamp; its forecasts are read at the test timestamps only. Each
  series' ``flaml_needed`` says what was done. FLAML has no panel model in ``ts_forecast`` (stacking the
  series with a series column puts other series' values into its lags), so a panel's series are fitted one
  by one, each with ``B / n_series`` of the budget. A FLAML failure is recorded as the row's error.
* seasonal naive (season from the metadata; 1: the naive forecast): the training part's last season
  repeated (missing values forward-filled first).

Every system is scored on the same test rows (those with a known target) with MASE, each series scaled by
the in-sample seasonal naive error of its training part (season from the metadata); a panel's MASE is the
mean over its series. The summary compares the mean over origins (a seed's, then the mean over seeds), and
counts the (origin, seed) pairs each system wins. Results: ``benchmarks/results/forecast_compare.json`` (the command, the machine,
one row per series, seed and system, and the summary) and a table on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
import traceback
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.forecast_data import LOADERS, Series, split

PACKAGES = ("automl", "flaml", "statsforecast", "mlforecast", "statsmodels", "lightgbm", "xgboost", "scikit-learn",
            "pandas", "numpy", "pmdarima", "vega_datasets")


# -- scoring -------------------------------------------------------------------------------------------------
def scale_of(history: np.ndarray, season: int) -> float:
    """Mean absolute in-sample seasonal naive error over the pairs with both values known."""
    lag = season if len(history) > 2 * season else 1
    diffs = np.abs(history[lag:] - history[:-lag])
    diffs = diffs[np.isfinite(diffs)]
    return float(np.mean(diffs)) if len(diffs) and np.mean(diffs) > 0 else float("nan")


def keys_of(frame: pd.DataFrame) -> pd.Series:
    return frame["series"].astype(str) if "series" in frame.columns else pd.Series("", index=frame.index)


def mase(series: Series, train: pd.DataFrame, test: pd.DataFrame, pred: np.ndarray) -> float:
    """Mean over series of the series' mean absolute test error / its training seasonal naive error."""
    pred = np.asarray(pred, dtype=float)
    train_keys, test_keys = keys_of(train), keys_of(test)
    values = []
    for key in pd.unique(test_keys):
        own = (test_keys == key).to_numpy()
        y = test.y.to_numpy()[own]
        known = np.isfinite(y)
        scale = scale_of(train.y.to_numpy()[(train_keys == key).to_numpy()], series.season)
        values.append(float(np.mean(np.abs(y[known] - pred[own][known])) / scale))
    return float(np.mean(values))


def coverage(test: pd.DataFrame, lower: np.ndarray, upper: np.ndarray) -> float:
    y = test.y.to_numpy()
    known = np.isfinite(y)
    return float(np.mean((y[known] >= lower[known]) & (y[known] <= upper[known])))


def seasonal_naive(series: Series, train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    pred = np.empty(len(test))
    train_keys, test_keys = keys_of(train), keys_of(test)
    for key in pd.unique(test_keys):
        history = train.y[(train_keys == key).to_numpy()].ffill().to_numpy()
        season = series.season if len(history) >= series.season else 1
        own = np.flatnonzero((test_keys == key).to_numpy())
        pred[own] = history[-season:][np.arange(len(own)) % season]
    return pred


# -- the systems ---------------------------------------------------------------------------------------------
def run_automl(series: Series, train: pd.DataFrame, test: pd.DataFrame, budget: float, seed: int,
               pass_season: bool) -> dict[str, Any]:
    from automl import AutoML

    columns = ["ds", "series"] if series.panel else ["ds"]
    options: dict[str, Any] = {"time_column": "ds", "horizon": series.horizon}
    if series.panel:
        options["series_id_column"] = "series"
    if pass_season:
        options["season"] = series.season
    m = AutoML(task="forecast", metric="mase", time_budget=budget, seed=seed, tracking=False)
    row: dict[str, Any] = {}
    started = time.monotonic()
    try:
        m.fit(train[columns], train.y, **options)
    except Exception as exc:  # recorded, not raised: the benchmark reports automl's failures
        row.update(wall_s=round(time.monotonic() - started, 2), error=_error(exc))
        return row
    row["wall_s"] = round(time.monotonic() - started, 2)
    try:
        pred = np.asarray(m.predict(test[columns]), dtype=float)
        row["test_mase"] = round(mase(series, train, test, pred), 5)
        row["pred_nan"] = int(np.isnan(pred).sum())
    except Exception as exc:
        row["error"] = "predict: " + _error(exc)
    try:
        bounds = m.predict_interval(test[columns], 0.9)
        lower, upper = bounds["lower"].to_numpy(dtype=float), bounds["upper"].to_numpy(dtype=float)
        row["coverage_90"] = round(coverage(test, lower, upper), 4)
        row["interval_nan"] = int(np.isnan(lower).sum() + np.isnan(upper).sum())
        row["interval_mean_width"] = round(float(np.nanmean(upper - lower)), 4)
    except Exception as exc:
        row["interval_error"] = _error(exc)
    trials = list(m.study_.trials)
    row.update(best=m.best_estimator_, refit=m.refit_, trials=len(trials), time_spent={k: _round(v) for k, v in
               (getattr(m, "time_spent_", None) or {}).items()},
               trials_by_status=pd.Series([t.status for t in trials]).value_counts().to_dict(),
               backtest_mase=_round(m.best_score_),
               backtest_coverage_90=_round(getattr(m.pipeline_, "backtest_coverage_90", None)),
               interval_source=getattr(m.pipeline_, "interval_source", None),
               failed_trial_errors=sorted({f"{t.estimator}: {t.error}"[:300] for t in trials
                                           if t.status == "failed" and t.error})[:5],
               timeout_trials=[{"estimator": t.estimator, "duration_s": round(t.duration_s, 1),
                                "config": {k: _plain(v) for k, v in t.config.items()}}
                               for t in trials if t.status == "timeout"],
               season_used=_season_used(m), best_config={k: _plain(v) for k, v in m.best_config_.items()})
    return row


def _season_used(m: Any) -> int | None:
    for holder in (getattr(m, "task_", None), getattr(getattr(m, "task_", None), "spec", None)):
        season = getattr(holder, "season", None)
        if season is not None:
            return int(season)
    options = getattr(getattr(m.pipeline_, "estimator", None), "season", None)
    return int(options) if options is not None else None


def flaml_frame(series: Series, train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DatetimeIndex, list[str]]:
    """One series' training frame as FLAML takes it (regular, no NaN), the future grid, and what was done."""
    needed = []
    frame = train[["ds", "y"]].sort_values("ds").reset_index(drop=True)
    if pd.infer_freq(frame.ds) is None:
        grid = pd.date_range(frame.ds.iloc[0], frame.ds.iloc[-1], freq=series.frequency)
        extra = len(grid) - len(frame)
        frame = frame.set_index("ds").reindex(grid).rename_axis("ds").reset_index()
        filled = int(frame.y.isna().sum())
        frame["y"] = frame.y.ffill()
        needed.append(f"irregular calendar (pd.infer_freq is None): reindexed to freq={series.frequency}, "
                      f"{extra} dates inserted, {filled} targets forward-filled")
    if frame.y.isna().any():
        missing = int(frame.y.isna().sum())
        frame["y"] = frame.y.interpolate(limit_direction="both")
        needed.append(f"{missing} missing targets interpolated linearly (FLAML's lag features assert on NaN)")
    future = pd.date_range(frame.ds.iloc[-1], test.ds.max(), freq=series.frequency)[1:]
    extra = len(future) - len(test)
    if extra:
        needed.append(f"period={len(future)} regular steps to reach the {len(test)} test rows "
                      f"({extra} non-trading day(s) in the test window, forecast and dropped)")
    return frame, future, needed


def run_flaml(series: Series, train: pd.DataFrame, test: pd.DataFrame, budget: float, seed: int) -> dict[str, Any]:
    from flaml import AutoML as FlamlAutoML

    train_keys, test_keys = keys_of(train), keys_of(test)
    keys = list(pd.unique(test_keys))
    share = budget / len(keys)
    pred = np.full(len(test), np.nan)
    row: dict[str, Any] = {"needed": [], "best": []}
    errors = []
    started = time.monotonic()
    for key in keys:
        own_train = train[(train_keys == key).to_numpy()]
        own_test = np.flatnonzero((test_keys == key).to_numpy())
        frame, future, needed = flaml_frame(series, own_train, test.iloc[own_test])
        row["needed"] += [f"{key}: {n}" if key else n for n in needed]
        m = FlamlAutoML()
        try:
            m.fit(X_train=frame[["ds"]], y_train=frame.y, task="ts_forecast", period=len(future), metric="mae",
                  time_budget=share, seed=seed, verbose=0)
            out = pd.Series(np.asarray(m.predict(pd.DataFrame({"ds": future})), dtype=float), index=future)
            pred[own_test] = out.reindex(pd.DatetimeIndex(test.ds.iloc[own_test])).to_numpy()
            row["best"].append(m.best_estimator)
        except Exception as exc:  # recorded per series and seed, not raised
            errors.append((f"{key}: " if key else "") + _error(exc))
    row["wall_s"] = round(time.monotonic() - started, 2)
    if errors:
        row["error"] = " | ".join(errors)
    if not errors or np.isfinite(pred).any():
        if np.isnan(pred).any():
            row["pred_nan"] = int(np.isnan(pred).sum())
        if not np.isnan(pred).any():
            row["test_mase"] = round(mase(series, train, test, pred), 5)
    row["best"] = row["best"][0] if len(row["best"]) == 1 else row["best"]
    if series.panel:
        row["needed"].insert(0, f"no panel model in ts_forecast: each of the {len(keys)} series fitted alone with "
                                f"time_budget={share:g}")
    return row


# -- records -------------------------------------------------------------------------------------------------
def _error(exc: BaseException) -> str:
    last = traceback.format_exception(exc)[-3:]
    return f"{type(exc).__name__}: {str(exc)[:400]} [{''.join(last).strip()[-600:]}]"


def _round(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 5)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def machine() -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {"platform": platform.platform(), "machine": platform.machine(), "cpu_count": os.cpu_count(),
            "cores_available": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "packages": versions}


def over_origins(frame: pd.DataFrame, origins: int) -> pd.DataFrame:
    """One row per series, seed and system: the mean test MASE over the origins (NaN unless all were scored)."""
    frame = frame.assign(origin=frame["origin"] if "origin" in frame else 0)
    grouped = frame.groupby(["series", "seed", "system"], sort=False, dropna=False)
    out = grouped.agg(test_mase=("test_mase", "mean"), scored=("test_mase", "count")).reset_index()
    out.loc[out.scored < origins, "test_mase"] = np.nan
    return out


def summarize(rows: list[dict], seeds: list[int], budget: float, origins: int = 1) -> dict[str, Any]:
    frame = pd.DataFrame(rows)
    if "origin" not in frame:
        frame["origin"] = 0
    means = over_origins(frame, origins)
    per_series, per_seed = [], []
    for name, group in frame.groupby("series", sort=False):
        mean = means[means.series == name]
        naive = mean[mean.system == "seasonal_naive"].test_mase.iloc[0]
        ours, theirs = mean[mean.system == "automl"], mean[mean.system == "flaml"]
        fits, flaml_fits = group[group.system == "automl"], group[group.system == "flaml"]
        pairs = fits.merge(group[group.system == "seasonal_naive"][["origin", "test_mase"]], on="origin",
                           suffixes=("", "_naive"))
        versus = fits.merge(flaml_fits[["origin", "seed", "test_mase"]], on=["origin", "seed"], suffixes=("", "_flaml"))
        coverage = fits.backtest_coverage_90 if "backtest_coverage_90" in fits else pd.Series(dtype=float)
        entry = {"series": name, "seasonal_naive": _round(naive),
                 "automl": _round(ours.test_mase.mean()), "automl_min": _round(ours.test_mase.min()),
                 "automl_max": _round(ours.test_mase.max()),
                 "flaml": _round(theirs.test_mase.mean()), "flaml_min": _round(theirs.test_mase.min()),
                 "flaml_max": _round(theirs.test_mase.max()),
                 "flaml_failed_fits": int(flaml_fits.test_mase.isna().sum()),
                 "automl_failed_fits": int(fits.test_mase.isna().sum()),
                 "automl_below_naive_seeds": int((ours.test_mase < naive).sum()),
                 "automl_below_flaml_seeds": int((ours.set_index("seed").test_mase.to_numpy()  # none: --no-flaml
                                                   < theirs.set_index("seed").test_mase.reindex(ours.seed).to_numpy()).sum()),
                 "automl_below_naive_fits": f"{int((pairs.test_mase < pairs.test_mase_naive).sum())}/{len(pairs)}",
                 "automl_below_flaml_fits": f"{int((versus.test_mase < versus.test_mase_flaml).sum())}/{len(versus)}",
                 "naive_by_origin": group[group.system == "seasonal_naive"].set_index("origin").test_mase.round(3)
                 .to_dict(),
                 "automl_by_origin": fits.groupby("origin").test_mase.mean().round(3).to_dict(),
                 "flaml_by_origin": flaml_fits.groupby("origin").test_mase.mean().round(3).to_dict(),
                 "automl_coverage_90": _round(fits.coverage_90.mean()) if "coverage_90" in fits else None,
                 "automl_backtest_coverage_90": _round(coverage.mean()),
                 "automl_backtest_coverage_90_within_5_points": f"{int(((coverage - 0.9).abs() <= 0.05).sum())}/"
                                                                f"{int(coverage.notna().sum())}",
                 "automl_interval_sources": fits.interval_source.value_counts().to_dict()
                 if "interval_source" in fits else {},
                 "automl_best": fits.best.dropna().value_counts().to_dict(),
                 "automl_errors": [e for e in (fits.error.dropna().tolist() if "error" in fits else [])],
                 "flaml_errors": [e for e in (flaml_fits.error.dropna().tolist() if "error" in flaml_fits else [])],
                 "automl_max_wall_over_budget": _round(fits.wall_over_budget.max()),
                 "flaml_max_wall_over_budget": _round(flaml_fits.wall_over_budget.max())}
        per_series.append(entry)
    naive = means[means.system == "seasonal_naive"].set_index("series").test_mase
    for seed in seeds:
        rows_seed = means[means.seed == seed]
        ours = rows_seed[rows_seed.system == "automl"].set_index("series").test_mase
        theirs = rows_seed[rows_seed.system == "flaml"].set_index("series").test_mase
        both = ours.dropna().index.intersection(theirs.dropna().index)
        ratio = lambda mases: _round(float(np.exp(np.mean(np.log(mases[both] / naive[both])))))  # noqa: E731
        per_seed.append({"seed": seed, "series": int(len(ours)),
                         "scored_by_all": int(len(both)),
                         "automl_mean_mase_common": _round(ours[both].mean()),
                         "flaml_mean_mase_common": _round(theirs[both].mean()),
                         "naive_mean_mase_common": _round(naive[both].mean()),
                         "automl_geomean_over_naive": ratio(ours), "flaml_geomean_over_naive": ratio(theirs),
                         "automl_beats_flaml": int((ours[both] < theirs[both]).sum()),
                         "flaml_beats_automl": int((ours[both] > theirs[both]).sum()),
                         "compared_with_flaml": int(len(both)),
                         "automl_beats_naive": int((ours.dropna() < naive[ours.dropna().index]).sum()),
                         "flaml_beats_naive": int((theirs.dropna() < naive[theirs.dropna().index]).sum()),
                         "automl_mean_mase": _round(ours.mean()), "flaml_mean_mase": _round(theirs.mean()),
                         "naive_mean_mase": _round(naive.mean())})
    ours, theirs = frame[frame.system == "automl"], frame[frame.system == "flaml"]
    coverage = ours.backtest_coverage_90 if "backtest_coverage_90" in ours else pd.Series(dtype=float)
    overall = {"origins": origins,
               "automl_mean_mase": _round(ours.test_mase.mean()), "flaml_mean_mase": _round(theirs.test_mase.mean()),
               "naive_mean_mase": _round(frame[frame.system == "seasonal_naive"].test_mase.mean()),
               "automl_wall_over_budget_mean": _round(ours.wall_over_budget.mean()),
               "automl_wall_over_budget_max": _round(ours.wall_over_budget.max()),
               "flaml_wall_over_budget_mean": _round(theirs.wall_over_budget.mean()),
               "flaml_wall_over_budget_max": _round(theirs.wall_over_budget.max()),
               "automl_fits_over_1.05_budget_plus_1s": int((ours.wall_s > 1.05 * budget + 1).sum()),
               "automl_coverage_90_mean": _round(ours.coverage_90.mean()) if "coverage_90" in ours else None,
               "automl_backtest_coverage_90_mean": _round(coverage.mean()),
               "automl_backtest_coverage_90_within_5_points": f"{int(((coverage - 0.9).abs() <= 0.05).sum())}/"
                                                              f"{int(coverage.notna().sum())}",
               "automl_shipped_validation_fold_model": int((ours.refit == "validation-fold model").sum())
               if "refit" in ours else 0,
               "automl_fits": int(len(ours)),
               "automl_errors": int(ours.error.notna().sum()) if "error" in ours else 0,
               "flaml_errors": int(theirs.error.notna().sum()) if "error" in theirs else 0}
    return {"per_series": per_series, "per_seed": per_seed, "overall": overall}


def table(summary: dict[str, Any]) -> str:
    lines = [f"{'series':18} {'naive':>7} {'automl':>7} {'(min-max)':>15} {'flaml':>7} {'(min-max)':>15} "
             f"{'a<n':>4} {'a<f':>4} {'cov90':>6} {'bt_cov':>6} {'a_w/b':>6} {'f_w/b':>6}  {'a<n/f':>5} {'a<f/f':>5}  best"]

    def num(v: Any, width: int = 7) -> str:
        return f"{v:{width}.3f}" if isinstance(v, (int, float)) and v is not None and np.isfinite(v) else f"{'-':>{width}}"

    for e in summary["per_series"]:
        lines.append(f"{e['series']:18} {num(e['seasonal_naive'])} {num(e['automl'])} "
                     f"{num(e['automl_min'], 6)}-{num(e['automl_max'], 6)}  {num(e['flaml'])} "
                     f"{num(e['flaml_min'], 6)}-{num(e['flaml_max'], 6)}  {e['automl_below_naive_seeds']:>4} "
                     f"{e['automl_below_flaml_seeds']:>4} {num(e['automl_coverage_90'], 6)} "
                     f"{num(e['automl_backtest_coverage_90'], 6)} {num(e['automl_max_wall_over_budget'], 6)} "
                     f"{num(e['flaml_max_wall_over_budget'], 6)}  {e['automl_below_naive_fits']:>5} "
                     f"{e['automl_below_flaml_fits']:>5}  {','.join(f'{k}x{v}' for k, v in e['automl_best'].items())}")
    lines.append("")
    for s in summary["per_seed"]:
        lines.append(f"seed {s['seed']}: automl beats flaml on {s['automl_beats_flaml']}/{s['compared_with_flaml']}, "
                     f"beats seasonal naive on {s['automl_beats_naive']}/{s['series']} (flaml: "
                     f"{s['flaml_beats_naive']}); on the {s['scored_by_all']} series all scored: mean MASE automl "
                     f"{num(s['automl_mean_mase_common'], 0)}, flaml {num(s['flaml_mean_mase_common'], 0)}, naive "
                     f"{num(s['naive_mean_mase_common'], 0)}; geometric mean of MASE / naive's: automl "
                     f"{num(s['automl_geomean_over_naive'], 0)}, flaml {num(s['flaml_geomean_over_naive'], 0)}")
    lines.append("overall: " + json.dumps(summary["overall"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--series", nargs="+", default=list(LOADERS), choices=list(LOADERS))
    parser.add_argument("--pass-season", action="store_true",
                        help="pass the metadata's season to automl (default: automl infers it from the frequency)")
    parser.add_argument("--origins", type=int, default=3,
                        help="test windows per series, each `horizon` steps before the next (default 3)")
    parser.add_argument("--no-flaml", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/forecast_compare.json"))
    parser.add_argument("--resummarize", action="store_true",
                        help="recompute the summary of --out from its recorded rows (no fit); says so in the record")
    args = parser.parse_args()
    if args.resummarize:
        record = json.loads(args.out.read_text())
        record["summary"] = summarize(record["rows"], record["seeds"], record["budget_s"], record.get("origins", 1))
        record["summary_recomputed"] = {"command": "python -m benchmarks.forecast_compare " + " ".join(sys.argv[1:]),
                                        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                                        "why": "summary fields added after the run; rows unchanged"}
        args.out.write_text(json.dumps(record, indent=2, default=str))
        print(table(record["summary"]))
        return
    warnings.filterwarnings("ignore")
    logging.getLogger("flaml").setLevel(logging.ERROR)
    started = time.monotonic()
    rows, metas = [], []
    for name in args.series:
        series = LOADERS[name]()
        meta = series.meta()
        meta["origins"] = []
        metas.append(meta)
        for origin in range(args.origins):
            train, test = split(series, origin)
            meta["origins"].append({"origin": origin, "train_rows": len(train), "test_rows": len(test),
                                    "test_rows_scored": int(test.y.notna().sum()),
                                    "test_start": str(test.ds.min().date()), "test_end": str(test.ds.max().date())})
            naive = {"series": name, "origin": origin, "seed": None, "system": "seasonal_naive",
                     "budget_s": args.budget,
                     "test_mase": round(mase(series, train, test, seasonal_naive(series, train, test)), 5)}
            rows.append(naive)
            print(json.dumps(naive), flush=True)
            for seed in args.seeds:
                systems = [("automl", lambda: run_automl(series, train, test, args.budget, seed, args.pass_season))]
                if not args.no_flaml:
                    systems.append(("flaml", lambda: run_flaml(series, train, test, args.budget, seed)))
                for system, runner in systems:
                    row = {"series": name, "origin": origin, "seed": seed, "system": system,
                           "budget_s": args.budget, **runner()}
                    row["wall_over_budget"] = round(row["wall_s"] / args.budget, 3)
                    if system == "flaml":
                        meta.setdefault("flaml_needed", {})[origin] = row.pop("needed")
                    rows.append(row)
                    print(json.dumps(row, default=str), flush=True)
    record = {"command": "python -m benchmarks.forecast_compare " + " ".join(sys.argv[1:]),
              "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
              "total_wall_s": round(time.monotonic() - started, 1), "budget_s": args.budget, "seeds": args.seeds,
              "origins": args.origins, "pass_season": args.pass_season, "series": metas, "rows": rows,
              "summary": None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2, default=str))  # the rows first: a summary that fails loses no fit
    record["summary"] = summary = summarize(rows, args.seeds, args.budget, args.origins)
    args.out.write_text(json.dumps(record, indent=2, default=str))
    print(table(summary))


if __name__ == "__main__":
    main()
