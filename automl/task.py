"""What the user asks for: a task kind and its settings, in one frozen value (the behaviour is in ``automl.tasks``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from automl.errors import InputError
from automl.registry import unknown_name_error
from automl.tasks import ALIASES, CLASSIFICATION, TASKS, Task, get_task, infer_kind

EVAL_METHODS = ("auto", "holdout", "cv")
#: ``eval_method="auto"`` cross-validates where a holdout would validate on fewer rows than this.
MIN_HOLDOUT_VALIDATION_ROWS = 1_000


def user_tasks() -> list[str]:
    """Task names a user may pass: "classification", every registered kind and their aliases ("ranking")."""
    return [CLASSIFICATION, *TASKS.names(), *ALIASES]


@dataclass(frozen=True)
class TaskSpec:
    """A tuning task.

    Parameters
    ----------
    kind : str
        "classification" (becomes "binary" or "multiclass" once ``y`` is seen), or a
        registered task kind ("binary", "multiclass", "regression", "forecast", "rank"; "ranking" is "rank").
    metric : str or callable, optional
        A registered metric name or a FLAML-style custom metric; defaults per kind.
    eval_method : {"auto", "holdout", "cv"}
        Validation scheme; "auto" chooses by data size and budget.
    n_splits : int
        Folds for cross-validation.
    holdout_fraction : float, optional
        Share of rows held out for validation; defaults by data size.
    time_column, horizon, series_columns, season, known_covariates
        Forecasting: the datetime column, the steps to forecast, the columns naming each series of a panel,
        the seasonal period (inferred from the frequency when None) and the columns whose future values the
        user supplies at predict time.
    group_column
        Ranking: the column of query ids (job files; in Python ``fit(X, y, groups=...)``).
    """

    kind: str
    metric: str | Callable[..., Any] | None = None
    eval_method: str = "auto"
    n_splits: int = 5
    holdout_fraction: float | None = None
    time_column: str | None = None
    horizon: int | None = None
    series_columns: tuple[str, ...] = ()
    season: int | None = None
    known_covariates: tuple[str, ...] = ()
    group_column: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ALIASES.get(self.kind, self.kind))  # "ranking" is "rank"
        if self.kind not in user_tasks():
            raise unknown_name_error("task", "task", self.kind, user_tasks())
        if self.eval_method not in EVAL_METHODS:
            raise unknown_name_error("evaluation method", "eval_method", self.eval_method, list(EVAL_METHODS))
        if not isinstance(self.n_splits, (int, np.integer)) or isinstance(self.n_splits, bool) or self.n_splits < 2:
            raise InputError(f"n_splits={self.n_splits!r} is invalid; pass an integer of at least 2.")
        if self.holdout_fraction is not None and not 0 < self.holdout_fraction < 1:
            raise InputError(f"holdout_fraction={self.holdout_fraction!r} is invalid; pass a number between 0 and 1.")

    @property
    def missing_target_ok(self) -> bool:
        """Whether ``y`` may have missing values (a gap in a series' history)."""
        return self.kind != CLASSIFICATION and get_task(self.kind).missing_target_ok

    def with_fit_options(self, **options: Any) -> "TaskSpec":
        """The spec with the task options given to ``fit`` (None: keep the spec's own)."""
        given = {k: v for k, v in options.items() if v is not None}
        for name in ("series_columns", "known_covariates"):
            if isinstance(given.get(name), str):
                given[name] = (given[name],)
            elif name in given:
                given[name] = tuple(given[name])
        return dataclasses.replace(self, **given) if given else self

    @property
    def estimator_kind(self) -> str:
        """What the task's estimator families must serve ("classification", "regression")."""
        return "classification" if self.kind == CLASSIFICATION else get_task(self.kind).estimator_kind

    @property
    def row_key_columns(self) -> tuple[str, ...]:
        """Columns that name a row of this task's output (a forecast's time and series columns)."""
        return (self.time_column, *self.series_columns) if self.time_column else ()

    @property
    def family_task(self) -> Task:
        """The plug-in that decides which families serve this spec (a binary one for "classification")."""
        return get_task("binary") if self.kind == CLASSIFICATION else get_task(self.kind)

    @property
    def plugin(self) -> Task:
        """The task's plug-in (after :meth:`resolve`, whose kind is concrete)."""
        return get_task(self.kind)

    def resolve(self, y: pd.Series) -> "TaskSpec":
        """Return the spec with the kind made concrete from ``y`` and a default metric."""
        y = pd.Series(y)
        kind = infer_kind(self.kind, y)
        task = get_task(kind)
        task.check_target(y, self)
        metric = self.metric if self.metric is not None else task.default_metric
        return dataclasses.replace(self, kind=kind, metric=metric)

    def choose_eval_method(self, n_rows: int, n_features: int, time_budget: float | None) -> str:
        """Cross-validate small data, hold out on large (FLAML's rule of rows x columns per hour), but never hold out
        fewer than :data:`MIN_HOLDOUT_VALIDATION_ROWS` rows: hundreds of trials and an ensemble's weights chosen on a
        few hundred rows fit their noise (ames_housing, 2,197 rows x 73 columns at 60 s: a 440-row holdout)."""
        if self.eval_method != "auto":
            return self.eval_method
        budget_hours = (time_budget if time_budget is not None else 3600.0) / 3600.0
        small = n_rows * n_features / 0.9 < 10_000_000 * budget_hours
        few_to_hold_out = n_rows * self.validation_fraction(n_rows) < MIN_HOLDOUT_VALIDATION_ROWS
        return "cv" if (small or few_to_hold_out) and n_rows < 100_000 else "holdout"

    def validation_fraction(self, n_rows: int) -> float:
        if self.holdout_fraction is not None:
            return self.holdout_fraction
        return 0.2 if n_rows < 10_000 else 0.1


def make_task(task: str | TaskSpec, **fields: Any) -> TaskSpec:
    """Accept a task name or a ready ``TaskSpec`` (whose own fields then win)."""
    if isinstance(task, TaskSpec):
        return task
    if not isinstance(task, str):
        raise InputError(f"task={task!r} is invalid; pass a task name such as \"classification\" or a TaskSpec.")
    return TaskSpec(kind=task, **fields)
