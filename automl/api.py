"""The user-facing estimator: validate, wire the parts together, run, expose the result."""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from automl import __version__
from automl.budget import Budget
from automl.data import TabularPreprocessor, check_xy, fingerprint, summarize
from automl.errors import InputError, NotFittedError
from automl.metrics import get_metric
from automl.objective import score_model
from automl.params import check_backend, check_max_trials, check_register, check_time_budget, resolve_families, resolve_n_jobs
from automl.resume import trials_to_resume
from automl.schedulers import resolve_early_stop
from automl.strategies import check_strategy_name, resolve_strategy_name
from automl.study import FAILED, PRUNED, Study, Trial
from automl.task import TaskSpec, make_task
from automl.tracking import make_tracker
from automl.tuning import build_space, run_job
from automl.validation import make_splits

logger = logging.getLogger(__name__)


class AutoML(BaseEstimator):
    """Tune estimator families and their hyperparameters within a time budget.

    Parameters
    ----------
    task : str or TaskSpec
        "classification" (binary / multiclass inferred from y), "binary",
        "multiclass" or "regression"; a ``TaskSpec`` gives full control.
    metric : str or callable, optional
        A metric name (roc_auc, log_loss, accuracy, f1, macro_f1, rmse, mae,
        r2, mape, ...) or a FLAML-style custom metric. Default: roc_auc
        (binary), log_loss (multiclass), r2 (regression).
    time_budget : float or None
        Wall-clock seconds for the whole ``fit``, final refit and logging included.
    seed : int
        Seed of the whole job; a sequential run with the same seed repeats its trials.
    estimators : "auto" or list of str
        Estimator families to search (see ``automl spaces list``).
    strategy : {"auto", "tpe", "random", "grid", "cfo", "blendsearch"}
        Search strategy. "auto" picks CFO when the data is large for the budget
        and TPE otherwise (the choice is logged and recorded in MLflow).
    early_stop : {"auto", "asha", "median", None}
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
        Threads each trial may use; -1 means all cores.
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
        Default: an equal share of the cluster's CPUs, no GPU.
    ray_address : str, optional
        None starts a local Ray instance sized to the machine (and stops it
        after the search); "auto" or an address joins a running cluster.
    trial_retries : int
        How often a trial whose Ray worker died is run again before it is
        recorded as failed.
    resume_from : str, optional
        The MLflow run id of an earlier run of this job (same data and
        settings; the budget may differ): its finished trials are replayed
        without fitting and the search goes on from there. ``max_trials``
        counts them; ``time_budget`` is for this run.
    tags : dict, optional
        Extra tags for the job's MLflow run (team, project, ...).
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
        resume_from: str | None = None,
        tags: Mapping[str, str] | None = None,
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
        self.resume_from = resume_from
        self.tags = tags

    # -- fitting -------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> "AutoML":
        """Search configurations within the budget and refit the best one."""
        check_time_budget(self.time_budget, self.max_trials)
        check_max_trials(self.max_trials)
        check_register(self.register, self.tracking)
        if self.resume_from is not None and not self.tracking:
            raise InputError(f"resume_from={self.resume_from!r} needs tracking=True: the earlier trials are read from MLflow.")
        backend_options = check_backend(
            self.backend, self.n_concurrent_trials, self.resources_per_trial, self.ray_address, self.trial_retries
        )
        budget = Budget(self.time_budget, self.max_trials)
        check_strategy_name(self.strategy)
        early_stop = resolve_early_stop(self.early_stop)
        n_jobs = resolve_n_jobs(self.n_jobs)
        frame, target = check_xy(X, y)
        task = self._task_spec().resolve(target)
        metric = get_metric(task.metric, task.kind)  # type: ignore[arg-type]
        families = resolve_families(self.estimators, task.family_task)
        classes, encoded = _encode_target(target, task.is_classification)
        preprocessor = TabularPreprocessor().fit(frame)
        features = preprocessor.transform(frame)
        summary = summarize(features, preprocessor, target, task.is_classification)
        space = build_space(families, task.family_task, summary, self.search_space)
        eval_method = task.choose_eval_method(summary.n_rows, summary.n_features, self.time_budget)
        strategy, reason = resolve_strategy_name(self.strategy, summary.n_rows, summary.n_features, self.time_budget)
        logger.info("strategy=%s (%s)", strategy, reason)
        splits = make_splits(
            eval_method, encoded, task.is_classification, task.n_splits, task.validation_fraction(len(frame)), self.seed
        )
        tracker = make_tracker(self.tracking, self.tracking_uri, self.experiment)
        params, tags = self._job_record(task, metric.name, strategy, reason, early_stop, eval_method, families, n_jobs, summary)
        params.update(backend_options.as_params())
        params["metric_direction"] = "maximize" if metric.greater_is_better else "minimize"
        if self.tracking:
            params["data_fingerprint"] = fingerprint(frame, target)
        recorded = None
        if self.resume_from is not None:
            recorded = trials_to_resume(self.resume_from, self.tracking_uri, space, metric, params)
            tags["automl.resumed_from"] = self.resume_from
        tags.update({str(k): str(v) for k, v in (self.tags or {}).items()})
        tracker.start(params, tags)
        try:
            result = run_job(
                X=features, y=encoded, preprocessor=preprocessor, task=task, metric=metric, space=space,
                splits=splits, strategy_name=strategy, early_stop=early_stop, backend_name=self.backend, backend_options=backend_options,
                budget=budget,
                tracker=tracker, n_jobs=n_jobs, seed=self.seed, classes=classes, callbacks=list(self.callbacks or []),
                recorded=recorded,
            )
            self._set_fitted(result, task, metric.name, eval_method, strategy, frame, classes)
            timing = {**result.time_spent, "elapsed_s": budget.elapsed()}
            outcome = {"n_trials": len(result.study.trials), "n_failed": result.study.count(FAILED),
                       "n_pruned": result.study.count(PRUNED), **timing}
            tracker.log_result(self.leaderboard(), result.study.best, outcome, result.model, frame.head(5))
            if self.register is not None:
                tracker.register(self.register, {
                    "task": task.kind, "metric": metric.name, "score": str(self.best_score_),
                    "data_fingerprint": params["data_fingerprint"], "automl_version": __version__,
                    "estimator": self.best_estimator_,
                })
        except BaseException as exc:
            tracker.end(failed=True, interrupted=isinstance(exc, KeyboardInterrupt), reason=f"{type(exc).__name__}: {exc}")
            raise
        tracker.end()
        self.mlflow_run_id_, self.model_uri_ = tracker.run_id, tracker.model_uri
        self.registered_model_uri_ = tracker.registered_uri
        self.tracking_uri_ = getattr(tracker, "tracking_uri", None) if self.tracking else None
        self.time_spent_ = {**timing, "total_s": budget.elapsed()}
        return self

    def _task_spec(self) -> TaskSpec:
        if isinstance(self.task, TaskSpec):
            return self.task if self.metric is None else TaskSpec(**{**self.task.__dict__, "metric": self.metric})
        metric = None if self.metric in (None, "auto") else self.metric
        return make_task(self.task, metric=metric, eval_method=self.eval_method, n_splits=self.n_splits)

    def _job_record(
        self, task: TaskSpec, metric: str, strategy: str, reason: str, early_stop: str, eval_method: str,
        families: list[str], n_jobs: int, summary: Any,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        params = {
            "task": task.kind, "metric": metric, "time_budget": self.time_budget, "max_trials": self.max_trials,
            "strategy": strategy, "strategy_requested": self.strategy, "early_stop": early_stop,
            "seed": self.seed, "eval_method": eval_method, "n_splits": task.n_splits,
            "estimators": ",".join(families), "n_jobs": n_jobs, "backend": self.backend,
            "n_rows": summary.n_rows, "n_features": summary.n_features, "n_categorical": summary.n_categorical,
            "n_classes": summary.n_classes,
        }
        tags = {"automl.version": __version__, "automl.task": task.kind, "automl.strategy": strategy,
                "automl.strategy_reason": reason, "automl.job_name": f"automl-{task.kind}-{strategy}"}
        return params, tags

    def _set_fitted(self, result: Any, task: TaskSpec, metric: str, eval_method: str, strategy: str, frame: pd.DataFrame, classes: np.ndarray | None) -> None:
        best = result.study.best
        self.study_ = result.study
        self.pipeline_ = result.model
        self.best_estimator_ = best.estimator
        self.best_config_ = dict(best.config)
        self.best_score_ = best.score
        self.best_trial_ = best
        self.best_model_ = result.model.estimator
        self.refit_ = result.refit
        self.task_ = task
        self.metric_ = metric
        self.eval_method_ = eval_method
        self.strategy_ = strategy
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        if classes is not None:
            self.classes_ = classes

    # -- using the result ------------------------------------------------------
    def predict(self, X: Any) -> np.ndarray:
        """Predictions (original class labels for classification)."""
        return self._fitted().predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns ordered as ``classes_``."""
        return self._fitted().predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        """The job's metric on (X, y), in its natural direction (a custom metric's value to minimise)."""
        model = self._fitted()
        frame, target = check_xy(X, y)
        if self.task_.is_classification:
            encoded = _encode_known(target, self.classes_)
        else:
            encoded = target.to_numpy(dtype=float)
        metric = get_metric(self.task_.metric, self.task_.kind)  # type: ignore[arg-type]
        n_classes = len(self.classes_) if self.task_.is_classification else 0
        return score_model(metric, model.estimator, model.preprocessor.transform(frame), encoded, n_classes)[0]

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first: trial_id, estimator, status, score, duration_s, error, param.*."""
        self._fitted()
        return self.study_.leaderboard()

    def _fitted(self) -> Any:
        if not hasattr(self, "pipeline_"):
            raise NotFittedError("This AutoML instance is not fitted yet; call fit(X, y) before using it.")
        return self.pipeline_


def _encode_target(y: pd.Series, classification: bool) -> tuple[np.ndarray | None, np.ndarray]:
    if not classification:
        return None, y.to_numpy(dtype=float)
    try:
        classes, encoded = np.unique(y.to_numpy(), return_inverse=True)
    except TypeError as exc:
        raise InputError(f"y mixes label types that cannot be ordered ({exc}); use labels of one type.") from exc
    return classes, encoded.astype(int)


def _encode_known(y: pd.Series, classes: np.ndarray) -> np.ndarray:
    values = y.to_numpy()
    unknown = sorted({str(v) for v in values if v not in set(classes.tolist())})
    if unknown:
        raise InputError(f"y has label(s) {unknown[:5]} not seen at fit (known: {classes.tolist()}); score on known labels.")
    return np.searchsorted(classes, values)
