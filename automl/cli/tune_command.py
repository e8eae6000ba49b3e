"""``automl tune``: validate the job up front, fit, write the model, print the outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from automl.api import AutoML
from automl.cli.errors import stderr
from automl.cli.jobspec import JobSpec
from automl.cli.logs import automl_warnings_on_stderr
from automl.progress import TuneProgress
from automl.errors import InputError
from automl.io import read_table, split_target
from automl.metrics import lookup
from automl.constraints import parse_constraints
from automl.pareto import parse_objectives
from automl.params import check_backend, check_device, check_ensemble, check_max_trials, check_time_budget, resolve_families
from automl.persistence import save_model
from automl.records import maximizes
from automl.schedulers import resolve_early_stop
from automl.strategies import check_strategy_name
from automl.svmlight import align_features
from automl.task import make_task
from automl.tracking.run_summary import DATA_SOURCE_TAG

LEADERBOARD_ROWS = 10
#: Tag of the job's MLflow run naming its job file, so ``automl resume RUN_ID`` finds the job.
JOB_FILE_TAG = "automl.job_file"


def check_job(spec: JobSpec) -> None:
    """Every name in the job is checked before any data is read."""
    task = make_task(spec.task, eval_method=spec.eval_method, n_splits=spec.n_splits)
    check_strategy_name(spec.strategy)
    resolve_early_stop(spec.early_stop)
    resolve_families(spec.estimators, task.family_task)
    if spec.metric is not None and spec.metric != "auto":
        lookup(spec.metric)  # an unknown name or a bad cutoff is one sentence
    check_time_budget(spec.time_budget, spec.max_trials)
    check_ensemble(spec.ensemble)
    parse_constraints(spec.constraints)
    check_device(spec.device, spec.backend)
    parse_objectives(spec.objectives, spec.strategy)
    if spec.register_as is not None and not spec.tracking:
        raise InputError(f"register={spec.register_as!r} needs tracking; drop --no-tracking or --register.")
    check_max_trials(spec.max_trials)
    check_backend(spec.backend, spec.n_concurrent_trials, spec.resources_per_trial, spec.ray_address, spec.trial_retries,
                  spec.trial_timeout, spec.memory_limit_mb)
    _check_target_is_no_feature(spec)
    _check_output(spec)


def _check_target_is_no_feature(spec: JobSpec) -> None:
    """The target column cannot also be the query ids, the timestamps, a series key or a covariate."""
    for name in ("group_column", "time_column", "series_id_column", "known_covariates"):
        value = getattr(spec, name)
        if spec.target in (value if isinstance(value, list) else [value]):
            raise InputError(f"{name}={value!r} names the target column {spec.target!r}, which cannot also be a feature "
                             f"or key; remove it from {name} (or set target to the column to predict).")


def _check_output(spec: JobSpec) -> None:
    """The model file goes into an existing folder and never over the job's data."""
    if not spec.output.parent.is_dir():
        raise InputError(f"output={str(spec.output)!r} is in folder {str(spec.output.parent)!r}, which does not exist; "
                         "create it or choose another output path.")
    for name in ("data", "test_data"):
        path = getattr(spec, name)
        if path is not None and path.exists() and spec.output.exists() and spec.output.samefile(path):
            raise InputError(f"output={str(spec.output)!r} is the job's {name} file; choose another output path so the "
                             "data is kept.")


@automl_warnings_on_stderr()  # for the command's duration; the caller's root logger stays as it is
def run_tune(spec: JobSpec, console: Console, quiet: bool = False, job_file: Path | None = None,
             dry_run: bool = False) -> AutoML | None:
    """The job of ``spec``, which its caller checked with :func:`check_job` first."""
    X, y, groups = _read(spec, spec.data, "data")
    X_test, y_test, groups_test = _test_set(spec, X, y, groups)
    if X_test is not None and spec.test_data is None:
        keep = ~X.index.isin(X_test.index)
        X, y, groups = X[keep], y[keep], None if groups is None else groups[keep]
    automl = AutoML(
        task=spec.task, metric=spec.metric, time_budget=spec.time_budget, seed=spec.seed,
        estimators=spec.estimators, strategy=spec.strategy, early_stop=spec.early_stop, max_trials=spec.max_trials,
        eval_method=spec.eval_method, n_splits=spec.n_splits, n_jobs=spec.n_jobs, tracking=spec.tracking,
        tracking_uri=spec.tracking_uri, experiment=spec.experiment, search_space=spec.search_space,
        register=spec.register_as, backend=spec.backend, n_concurrent_trials=spec.n_concurrent_trials,
        resources_per_trial=spec.resources_per_trial, ray_address=spec.ray_address, trial_retries=spec.trial_retries,
        trial_timeout=spec.trial_timeout, memory_limit_mb=spec.memory_limit_mb,
        resume_from=spec.resume_from, ensemble=spec.ensemble, constraints=spec.constraints, device=spec.device,
        objectives=spec.objectives, warm_start=spec.warm_start if isinstance(spec.warm_start, bool) else str(spec.warm_start),
        tags={**({JOB_FILE_TAG: str(job_file.resolve())} if job_file is not None else {}),
                                         DATA_SOURCE_TAG: str(spec.data.resolve())},
    )
    if dry_run:
        show_plan(automl.plan(X, y, groups, **spec.fit_options()), spec, console, None if X_test is None else len(X_test))
        return None
    progress = TuneProgress(spec.time_budget, spec.max_trials, stderr)
    automl.set_params(callbacks=[] if quiet else [progress])
    if quiet:
        automl.fit(X, y, groups, **spec.fit_options())
    else:
        with progress:
            automl.fit(X, y, groups, **spec.fit_options())
    automl.set_params(callbacks=None)
    save_model(automl, spec.output)
    if X_test is not None and spec.test_data is not None:
        X_test = align_features(X_test, list(automl.feature_names_in_))  # an svmlight file may lack some features
    _report(automl, spec, console, X_test, y_test, groups_test)
    return automl


def show_plan(plan: dict[str, Any], spec: JobSpec, console: Console, test_rows: int | None) -> None:
    """``--dry-run``: what the job would run, from ``AutoML.plan``."""
    validation = (f"{plan['n_splits']}-fold cross-validation" if plan["eval_method"] == "cv"
                  else f"holdout of {plan['holdout_fraction']:g} of the rows")
    budget = f"{plan['time_budget']:g} s" if plan["time_budget"] is not None else "no time limit"
    if plan["max_trials"] is not None:
        budget += f", at most {plan['max_trials']} trials"
    classes = f", {plan['n_classes']} classes" if plan.get("n_classes") else ""
    rows = {
        "task": f"{plan['task']} (metric {plan['metric']}, {plan['metric_direction']})",
        "data": f"{plan['n_rows']} rows x {plan['n_features']} features ({plan['n_categorical']} categorical){classes}"
                + (f", sparse ({100 * plan['density']:.2g}% stored)" if plan.get("sparse") else "")
                + (f"; {test_rows} test rows held out" if test_rows else ""),
        "families": plan["estimators"].replace(",", ", "),
        "strategy": f"{plan['strategy']} ({plan['strategy_reason']}); early stopping: {plan['early_stop']}",
        "validation": validation,
        "budget": budget,
        "backend": f"{plan['backend']}, {plan['n_jobs']} thread(s) per trial" + (", on the GPU" if plan.get("device") == "cuda" else ""),
        "constraints": ", ".join(f"{k.removeprefix('constraint_')} <= {v:g}" for k, v in plan.items()
                                 if k.startswith("constraint_") and k != "constraint_batch_rows") or "none",
        "warm start": (f"{plan['warm_start_configs']} configuration(s) from {plan['warm_start']} (data sets nearest in "
                       f"shape: {plan.get('warm_start_nearest', '').replace(',', ', ') or 'none'})"
                       if plan["warm_start"] != "off" else "off: each family starts from its defaults"),
        "output": str(spec.output),
        "tracking": (spec.tracking_uri or "sqlite:///mlflow.db") if spec.tracking else "off",
    }
    table = Table(title="Dry run: what `automl tune` would run", show_header=False)
    for key, value in rows.items():
        table.add_row(key, escape(str(value)))
    console.print(table)
    console.print("Nothing was fitted or written.")


def _read(spec: JobSpec, path: Path, parameter: str) -> tuple[pd.DataFrame, pd.Series, np.ndarray | None]:
    """Features, target and (with ``group_column``) the query ids of a data file."""
    X, y = split_target(read_table(path, parameter), spec.target, str(path))
    if spec.group_column is None:
        return X, y, None
    if spec.group_column not in X.columns:
        raise InputError(f"group_column {spec.group_column!r} is not in {path}; its columns are: "
                         f"{', '.join(map(str, X.columns))}.")
    return X.drop(columns=[spec.group_column]), y, X[spec.group_column].to_numpy()


def _test_set(spec: JobSpec, X: pd.DataFrame, y: pd.Series, groups: np.ndarray | None
              ) -> tuple[pd.DataFrame | None, pd.Series | None, np.ndarray | None]:
    if spec.test_data is not None:
        return _read(spec, spec.test_data, "test_data")
    if spec.test_size is None:
        return None, None, None
    options = spec.fit_options()
    task = make_task(spec.task, holdout_fraction=spec.test_size).with_fit_options(
        **{**options, "series_columns": options.pop("series_id_column")}).resolve(y)
    frame = X.reset_index(drop=True)
    task = task.plugin.complete(task, frame)
    data = task.plugin.fit_data(frame, task.plugin.encode_target(y.reset_index(drop=True)), task, groups)
    # the task's own holdout: stratified for classes, by query for ranking, the last horizon of each series
    _, test_rows = task.plugin.splits(data, "holdout", task, spec.seed)[0]
    return X.iloc[test_rows], y.iloc[test_rows], None if groups is None else groups[test_rows]


def _report(automl: AutoML, spec: JobSpec, console: Console, X_test: pd.DataFrame | None, y_test: pd.Series | None,
            groups_test: np.ndarray | None = None) -> None:
    board = automl.leaderboard()
    counts = ", ".join(f"{n} {status}" for status, n in board.status.value_counts().items())
    table = Table(title=f"Leaderboard (top {min(LEADERBOARD_ROWS, len(board))} of {len(board)} trials: {counts})")
    for column in ("trial_id", "estimator", "status", "score", "duration_s"):
        table.add_column(column, justify="right" if column != "estimator" else "left")
    for row in board.head(LEADERBOARD_ROWS).itertuples():
        score = "" if pd.isna(row.score) else f"{row.score:.5f}"
        table.add_row(str(row.trial_id), row.estimator, row.status, score, f"{row.duration_s:.2f}")
    console.print(table)
    console.print(f"Best: [bold]{automl.best_estimator_}[/] {automl.metric_}={automl.best_score_:.5f} "
                  f"({automl.eval_method_}; refit: {automl.refit_})")
    console.print(f"Best configuration: {json.dumps(automl.best_config_)}")
    if spec.objectives:
        front = automl.pareto_front()
        shown = ", ".join(f"trial {r.trial_id} ({r.estimator}: {r.score:.4g}, "
                          + ", ".join(f"{name} {getattr(r, name):.3g}" for name in spec.objectives[1:]) + ")"
                          for r in front.itertuples())
        console.print(f"Pareto front ({len(front)}): {shown}")
    if X_test is not None and y_test is not None:
        score = automl.score(X_test, y_test, groups_test)  # greater is better: a metric to minimise comes back negated
        value = score if maximizes(automl.job_params_) else -score
        console.print(f"Test {automl.metric_}: [bold]{value:.5f}[/] on {len(X_test)} rows")
    spent = automl.time_spent_
    budget = "no time limit" if spec.time_budget is None else f"a {spec.time_budget:g}s budget"
    console.print(f"Time: {spent['total_s']:.1f}s of {budget} "
                  f"(search {spent['search_s']:.1f}s, refit {spent['refit_s']:.1f}s)")
    console.print(f"Model written to {spec.output}")
    if automl.mlflow_run_id_:
        tracker_uri = automl.tracking_uri_ or spec.tracking_uri or _default_uri()
        console.print(f"MLflow run id: {automl.mlflow_run_id_} (experiment {automl.experiment or 'automl'!r}, "
                      f"store {tracker_uri})")
        console.print(f"MLflow model: {automl.model_uri_}")
        if automl.registered_model_uri_:
            console.print(f"Registered model: {automl.registered_model_uri_}")
        console.print(f"Browse: automl ui --tracking-uri {tracker_uri} --experiment {automl.experiment or 'automl'}")


def _default_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()
