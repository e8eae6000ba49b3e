"""The user-facing estimator: validate, wire the parts together, run, expose the result."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from automl import __version__
from automl.budget import Budget
from automl.constraints import parse_constraints
from automl.pareto import parse_objectives
from automl.portfolio import resolve_warm_start
from automl.errors import InputError
from automl.fitted import FittedResults
from automl.job_plan import plan_job
from automl.params import (
    check_backend, check_device, check_ensemble, check_max_trials, check_register, check_time_budget, resolve_n_jobs,
)
from automl.problem import TuningProblem
from automl.progress import TuneProgress
from automl.resume import trials_to_resume
from automl.schedulers import resolve_early_stop
from automl.strategies import check_strategy_name
from automl.study import FAILED, PRUNED, TIMEOUT, Study, Trial
from automl.task import TaskSpec, make_task
from automl.tracking import make_tracker
from automl.tuning import JobResult, JobRunner, JobSettings

logger = logging.getLogger(__name__)


class AutoML(FittedResults, BaseEstimator):
    """Tune estimator families and their hyperparameters within a time budget.

    Parameters
    ----------
    task : str or TaskSpec
        "classification" (binary / multiclass inferred from y), "binary",
        "multiclass", "regression" or "rank" (alias "ranking": ``fit(X, y, groups=query_ids)``);
        a ``TaskSpec`` gives full control.
    metric : str or callable, optional
        A metric name (roc_auc, log_loss, accuracy, f1, macro_f1, rmse, mae,
        r2, mape, ndcg@10, map@5, mrr, precision@3, ...) or a FLAML-style custom metric. Default: roc_auc
        (binary), log_loss (multiclass), r2 (regression), ndcg@10 (rank).
    time_budget : float or None
        Wall-clock seconds for the whole ``fit``, final refit and logging included.
    seed : int
        Seed of the whole job; a sequential run with the same seed repeats its trials.
    estimators : "auto" or list of str
        Estimator families to search (see ``automl spaces list``).
    strategy : {"auto", "tpe", "bo", "random", "grid", "cfo", "blendsearch"}
        Search strategy. "auto" picks CFO when the data is large for the budget
        and TPE otherwise (the choice is logged and recorded in MLflow).
    early_stop : {"auto", "asha", "hyperband", "median", None}
        Stop weak trials early from their intermediate results (folds under
        cross-validation, boosting rounds on a holdout split); "auto" is ASHA,
        None turns early stopping off.
    max_trials : int, optional
        Stop after this many trials.
    eval_method : {"auto", "holdout", "cv"}
        Validation scheme; "auto" cross-validates small data and holds out on large.
    n_splits : int
        Folds for cross-validation.
    n_jobs : int
        Threads each trial may use; -1 means every core this process may use (its affinity, capped by a
        container's CPU quota).
    tracking : bool
        Record the job in MLflow (one parent run, one nested run per trial).
    tracking_uri, experiment : str, optional
        MLflow store (default: ``MLFLOW_TRACKING_URI`` or ``sqlite:///mlflow.db``)
        and experiment name (default "automl").
    search_space : dict, optional
        Per family, a path to a space file or a dict ``{param: {field: value}}``
        that overrides the shipped space.
    callbacks : list of callables, optional
        Called as ``callback(study, trial)`` after every trial.
    register : str, optional
        Register the best model under this name in the MLflow model registry,
        tagged with task, metric, score, data fingerprint and automl version.
    backend : {"inprocess", "ray"}
        Where trials run: one at a time in this process, or on Ray workers.
    n_concurrent_trials : int
        Trials running at once (backend="ray").
    resources_per_trial : dict, optional
        ``{"cpu": 1, "gpu": 0.5}``: what each Ray trial reserves; its threads
        follow its CPUs and a trial with a GPU trains on it (XGBoost, LightGBM).
        Default: the most whole CPUs with which n_concurrent_trials trials fit on the nodes, no GPU.
    ray_address : str, optional
        None starts a local Ray instance sized to the machine (and stops it
        after the search); "auto" or an address joins a running cluster.
    trial_retries : int
        How often a trial whose Ray worker died is run again before it is
        recorded as failed.
    trial_timeout : float, optional
        Seconds one trial may take (in-process backend). Whatever it is, a
        trial gets at most the time to the search's deadline plus a grace
        (1 s + 2% of the budget): a trial past its limit (code that never
        checks the clock, such as a custom metric that sleeps) is recorded
        as failed with the reason and the search goes on without it.
    memory_limit_mb : int, optional
        Megabytes of data one trial's process may hold (in-process backend):
        trials then run in a child process whose data segment is capped at
        it (the job's data it holds included), so an allocation past it
        fails that trial only; a trial past its time limit is then killed
        with its process, and a process that dies costs only its trial.
    resume_from : str, optional
        The MLflow run id of an earlier run of this job (same data and
        settings; the budget may differ): its finished trials are replayed
        without fitting and the search goes on from there. ``max_trials``
        counts them; ``time_budget`` is for this run.
    tags : dict, optional
        Extra tags for the job's MLflow run (team, project, ...).
    verbose : int
        0 (default) prints nothing; 1 shows the search's progress on stdout (trials, best score, time left): a
        live bar in a terminal or a Jupyter notebook, otherwise a line whenever the best improves.
    ensemble : {"auto", True, False, "stack"}
        Ship a weighted ensemble of the trials (greedy selection over their out-of-fold predictions, members
        refit on all rows). "auto" ships it when it beats the best trial on validation by more than noise and
        its members' refits fit the time left; True ships any ensemble of two or more trials whose refits fit;
        False ships the best trial. "stack" (classification and regression) ships a regularised linear or
        logistic model on the best trial of each family's out-of-fold predictions, when its refits fit.
    constraints : dict, optional
        Deployment limits, e.g. ``{"predict_ms_per_row": 0.02, "model_mb": 5}`` (``batch_rows``: the batch
        the latency is timed on, default 1000). Each ok trial's model is measured (``automl.constraints``);
        one that breaks a limit is ``infeasible`` and never the model. An ensemble's members add up.
    objectives : list of str, optional
        ``["score", "predict_ms_per_row"]`` (and/or ``"model_mb"``): a multi-objective search (TPE, or random
        / grid). The job still ships its best-scoring trial; ``pareto_front()`` lists the trade-offs and
        ``select(trial_id)`` ships another of them.
    device : {"cpu", "cuda"}
        Where in-process trials train: "cuda" puts LightGBM, XGBoost and the mlp on the GPU (each trial's
        ``automl.device`` says where it trained) and is an error up front where no CUDA GPU is visible. On Ray,
        trials get GPUs through ``resources_per_trial``.
    warm_start : bool or str
        True: each family's search starts, after its default, from the configurations that did best on the
        benchmark collection's data sets nearest to this data in shape (rows, features, classes, share of
        categorical columns), from the portfolio shipped with automl (``automl.portfolio``); tabular tasks only.
        A path names a portfolio file of your own (``python -m benchmarks.portfolio_mine`` writes one). False
        (the default, until a held-out gain is measured: ``benchmarks/results/portfolio_heldout_20s.json``)
        starts from the defaults only. ``job_params_["warm_start_configs"]`` counts the starts.
    """

    def __init__(
        self,
        task: str | TaskSpec = "classification",
        metric: str | Callable[..., Any] | None = None,
        time_budget: float | None = 60,
        seed: int = 0,
        estimators: str | Sequence[str] = "auto",
        strategy: str = "auto",
        early_stop: str | None = "auto",
        max_trials: int | None = None,
        eval_method: str = "auto",
        n_splits: int = 5,
        n_jobs: int = -1,
        tracking: bool = True,
        tracking_uri: str | None = None,
        experiment: str | None = None,
        search_space: Mapping[str, Any] | None = None,
        callbacks: Sequence[Callable[[Study, Trial], None]] | None = None,
        backend: str = "inprocess",
        register: str | None = None,
        n_concurrent_trials: int = 1,
        resources_per_trial: Mapping[str, float] | None = None,
        ray_address: str | None = None,
        trial_retries: int = 0,
        trial_timeout: float | None = None,
        memory_limit_mb: int | None = None,
        resume_from: str | None = None,
        tags: Mapping[str, str] | None = None,
        ensemble: str | bool = "auto",
        constraints: Mapping[str, float] | None = None,
        device: str = "cpu",
        objectives: Sequence[str] | None = None,
        warm_start: bool | str = False,
        verbose: int = 0,
    ) -> None:
        self.task = task
        self.metric = metric
        self.time_budget = time_budget
        self.seed = seed
        self.estimators = estimators
        self.strategy = strategy
        self.early_stop = early_stop
        self.max_trials = max_trials
        self.eval_method = eval_method
        self.n_splits = n_splits
        self.n_jobs = n_jobs
        self.tracking = tracking
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.search_space = search_space
        self.callbacks = callbacks
        self.backend = backend
        self.register = register
        self.n_concurrent_trials = n_concurrent_trials
        self.resources_per_trial = resources_per_trial
        self.ray_address = ray_address
        self.trial_retries = trial_retries
        self.trial_timeout = trial_timeout
        self.memory_limit_mb = memory_limit_mb
        self.resume_from = resume_from
        self.tags = tags
        self.ensemble = ensemble
        self.constraints = constraints
        self.device = device
        self.objectives = objectives
        self.warm_start = warm_start
        self.verbose = verbose

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's tags, from the parameters: a classifier or a regressor by ``task``; tables with missing
        values, strings and categories, and sparse matrices, as input; deterministic only without a time budget."""
        from sklearn.utils import ClassifierTags, RegressorTags

        tags = super().__sklearn_tags__()
        kind = self.task.kind if isinstance(self.task, TaskSpec) else str(self.task)
        if kind in ("classification", "binary", "multiclass"):
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags(multi_class=kind != "binary")
        elif kind == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = tags.input_tags.string = tags.input_tags.categorical = True
        tags.input_tags.sparse = kind not in ("forecast",)
        tags.non_deterministic = self.time_budget is not None or self.backend != "inprocess"
        return tags

    # -- fitting -------------------------------------------------------------
    def fit(
        self, X: Any, y: Any, groups: Any = None, *, time_column: str | None = None, horizon: int | None = None,
        series_id_column: str | Sequence[str] | None = None, season: int | None = None,
        known_covariates: Sequence[str] | None = None,
    ) -> "AutoML":
        """Search configurations within the budget and refit the best one.

        ``groups`` (one query id per row) is for ranking; ``time_column``, ``horizon``, ``series_id_column``
        (panel data), ``season`` and ``known_covariates`` are for forecasting (each may also come from a
        ``TaskSpec``; a value given here wins).
        """
        budget = Budget(self.time_budget, self.max_trials)
        plan = plan_job(self, X, y, groups, self._fit_options(time_column, horizon, series_id_column, season,
                                                              known_covariates))
        problem, settings, frame, params, tags = plan.problem, plan.settings, plan.frame, plan.params, plan.tags
        recorded = None
        if self.resume_from is not None:
            recorded = trials_to_resume(self.resume_from, self.tracking_uri, problem.space, params)
            tags["automl.resumed_from"] = self.resume_from
        tags.update({str(k): str(v) for k, v in (self.tags or {}).items()})
        tracker = make_tracker(self.tracking, self.tracking_uri, self.experiment)
        deadline = None if self.time_budget is None else budget.end  # what the store has not got by then is journaled
        tracker.start(params, tags)
        try:
            callbacks, display = list(self.callbacks or []), self._progress()
            runner = JobRunner(problem, settings, budget, tracker, callbacks + ([display] if display else []))
            with display or contextlib.nullcontext():
                result = runner.run(recorded)
            self._set_fitted(result, problem, settings, params)
            self._job = (runner, problem, settings, params) if settings.objectives else None  # select(): in memory only
            self._export_rows = frame.sample(n=min(len(frame), 1000), random_state=self.seed) if isinstance(
                frame, pd.DataFrame) else None  # to_onnx's check rows: in memory only, never pickled
            timing = {**result.time_spent, "elapsed_s": budget.elapsed()}
            outcome = {"refit": result.refit, "n_trials": len(result.study.trials), "n_failed": result.study.count(FAILED),
                       "n_pruned": result.study.count(PRUNED), "n_timeout": result.study.count(TIMEOUT), **timing,
                       **problem.task.result_metrics(result.model), **result.measured,
                       **({} if result.ensemble is None else {"ensemble_score": self._ensemble_score,
                                                               "ensemble_members": len(result.ensemble.weights)})}
            board = self.leaderboard()
            if "pareto" in board.columns:
                outcome["pareto_front_size"] = int(board["pareto"].sum())
            tracker.log_result(board, result.trial, outcome, result.model,
                               problem.task.input_example(frame, problem.preprocessor))
            if self.register is not None:
                tracker.register(self.register, {
                    "task": problem.spec.kind, "metric": problem.metric.name, "score": str(self.best_score_),
                    "data_fingerprint": problem.data_fingerprint, "automl_version": __version__,
                    "estimator": self.best_estimator_,
                })
        except BaseException as exc:
            tracker.end(failed=True, interrupted=isinstance(exc, KeyboardInterrupt), reason=f"{type(exc).__name__}: {exc}",
                        deadline=deadline)
            raise
        tracker.end(deadline=deadline)
        self.mlflow_run_id_, self.model_uri_ = tracker.run_id, tracker.model_uri
        self.tracking_journal_ = tracker.journal
        self.registered_model_uri_ = tracker.registered_uri
        self.tracking_uri_ = getattr(tracker, "tracking_uri", None) if self.tracking else None
        self.time_spent_ = {**timing, "total_s": budget.elapsed()}
        return self

    def plan(
        self, X: Any, y: Any, groups: Any = None, *, time_column: str | None = None, horizon: int | None = None,
        series_id_column: str | Sequence[str] | None = None, season: int | None = None,
        known_covariates: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """What ``fit`` with these arguments would run, without fitting: the job's parameters as MLflow records
        them (task, metric, families, strategy and ``strategy_reason``, validation, budget, data shape)."""
        plan = plan_job(self, X, y, groups, self._fit_options(time_column, horizon, series_id_column, season,
                                                              known_covariates))
        return {**plan.params, "strategy_reason": plan.reason}

    @staticmethod
    def _fit_options(time_column: str | None, horizon: int | None, series_id_column: str | Sequence[str] | None,
                     season: int | None, known_covariates: Sequence[str] | None) -> dict[str, Any]:
        return {"time_column": time_column, "horizon": horizon, "series_columns": series_id_column, "season": season,
                "known_covariates": known_covariates}

    def _progress(self) -> TuneProgress | None:
        """``verbose=1``: the CLI's live progress on stdout (a bar in a terminal or Jupyter, else lines)."""
        if not self.verbose:
            return None
        from rich.console import Console

        return TuneProgress(self.time_budget, self.max_trials, Console(highlight=False))

    def _check_settings(self) -> JobSettings:
        """Every parameter that can be checked before the data is read, as the job's settings."""
        check_time_budget(self.time_budget, self.max_trials)
        check_max_trials(self.max_trials)
        check_register(self.register, self.tracking)
        if self.resume_from is not None and not self.tracking:
            raise InputError(f"resume_from={self.resume_from!r} needs tracking=True: the earlier trials are read from MLflow.")
        backend_options = check_backend(
            self.backend, self.n_concurrent_trials, self.resources_per_trial, self.ray_address, self.trial_retries,
            self.trial_timeout, self.memory_limit_mb,
        )
        check_strategy_name(self.strategy)
        check_ensemble(self.ensemble)
        if isinstance(self.verbose, bool) or not isinstance(self.verbose, int) or self.verbose < 0:
            raise InputError(f"verbose={self.verbose!r} is invalid; pass 0 (quiet) or 1 (a progress display).")
        return JobSettings(self.strategy, resolve_early_stop(self.early_stop), self.backend, backend_options,
                           resolve_n_jobs(self.n_jobs), self.ensemble, parse_constraints(self.constraints),
                           check_device(self.device, self.backend), parse_objectives(self.objectives, self.strategy),
                           resolve_warm_start(self.warm_start))

    def _task_spec(self) -> TaskSpec:
        if isinstance(self.task, TaskSpec):
            return self.task if self.metric is None else replace(self.task, metric=self.metric)
        metric = None if self.metric in (None, "auto") else self.metric
        return make_task(self.task, metric=metric, eval_method=self.eval_method, n_splits=self.n_splits)

    def _set_fitted(self, result: JobResult, problem: TuningProblem, settings: JobSettings, params: dict[str, Any]) -> None:
        shipped = result.trial
        self.study_ = result.study
        self.pipeline_ = result.model
        self.best_estimator_ = shipped.estimator
        self.best_config_ = dict(shipped.config)
        self.best_score_ = shipped.score
        self.best_trial_ = shipped
        self.best_model_ = result.model.estimator
        self.refit_ = result.refit
        self.measured_ = dict(result.measured)  # with constraints: the shipped model's latency and size as it serves
        self.ensemble_ = None if result.ensemble is None else [
            {"trial_id": t, "estimator": self.study_.trials[t].estimator, "weight": result.ensemble.weights[t]}
            for t in result.ensemble.members]
        maximize = problem.metric.greater_is_better
        self._ensemble_score = None if result.ensemble is None else (
            -result.ensemble.loss if maximize else result.ensemble.loss)
        self.task_ = problem.spec
        self.metric_ = problem.metric.name
        self.eval_method_ = problem.eval_method
        self.strategy_ = settings.strategy
        self.job_params_ = params
        self.feature_names_in_ = np.asarray(problem.preprocessor.input_columns_, dtype=object)
        self.n_features_in_ = problem.data.X.shape[1]
        self._target = problem.target
        if problem.target.classes is not None:
            self.classes_ = problem.target.classes
