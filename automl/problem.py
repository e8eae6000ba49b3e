"""The tuning problem ``fit`` builds once: task, data, folds, metric and space, frozen, with its identity.

Everything a trial's meaning depends on is here; the budget, the strategy and
where trials run are the job's settings, not the problem. The fingerprints of
its data, validation rows and space are recorded on the job's MLflow run, and
resume compares the data's and the splits', so a job resumed on other data or
other splits (another ``holdout_fraction`` or ``n_splits``) is refused; a
changed space is allowed, and the replay stops where the search asks for
something that was not recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from automl.constraints import Constraints
from automl.cost import CostModel, FitShape
from automl.data import DataSummary, fingerprint, summarize
from automl.errors import InputError
from automl.estimators import EstimatorAdapter, get_adapter
from automl.fitdata import FitData, Fold, Split, prepare_fold, splits_fingerprint
from automl.metrics import CustomMetric, Metric, get_metric
from automl.objective import AllRows, Objective
from automl.schedulers import Scheduler
from automl.sparse import is_sparse
from automl.space import JointSpace, SearchSpace, load_file, merge_overrides, space_fingerprint
from automl.task import TaskSpec
from automl.tasks import EncodedTarget, Task


@dataclass(frozen=True)
class TuningProblem:
    """One frozen tuning problem (see the module docstring)."""

    spec: TaskSpec  # resolved: its kind is concrete and it has a metric
    task: Task
    data: FitData  # the user's columns and the encoded target
    target: EncodedTarget
    preprocessor: Any  # the task's feature transform fitted on all rows: the shipped model's
    all_rows: AllRows
    summary: DataSummary
    metric: Metric | CustomMetric
    space: JointSpace
    eval_method: str
    splits: tuple[Split, ...]
    seed: int
    data_fingerprint: str  # of the user's X and y as given

    @property
    def families(self) -> list[str]:
        return self.space.families

    @cached_property
    def fingerprints(self) -> dict[str, str]:
        """Short hashes of the data, the validation rows and the space (recorded as job parameters)."""
        return {"data_fingerprint": self.data_fingerprint, "splits_fingerprint": splits_fingerprint(list(self.splits)),
                "space_fingerprint": space_fingerprint(self.space)}

    def identity(self) -> str:
        """The problem's hash: equal problems give equal trials for equal seeds and strategies."""
        parts = [self.spec.kind, self.metric.name, self.eval_method, str(self.seed), *self.fingerprints.values()]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def folds(self) -> list[Fold]:
        """The validation folds, each with the task's feature transform fitted on its training rows."""
        return [prepare_fold(self.task, self.spec, self.data, i, split, self.target.n_classes) for i, split in enumerate(self.splits)]

    @cached_property
    def adapters(self) -> dict[str, EstimatorAdapter]:
        """Each family's adapter as this task fits it."""
        return {family: self.task.adapter_for(get_adapter(family), self.spec) for family in self.families}

    def cost_model(self) -> CostModel:
        """Estimated (never measured) seconds of a trial of a configuration: its fits on every fold's training rows."""
        train_rows = float(np.mean([len(train) for train, _ in self.splits]))
        shape = FitShape(train_rows, self.summary.n_features, self.target.n_classes)
        return CostModel(self.adapters, shape, n_fits=len(self.splits))

    def objective(self, n_jobs: int, scheduler: Scheduler | None = None, device: str = "cpu",
                  constraints: Constraints | None = None) -> Objective:
        """What scores the problem's configurations (the folds are prepared here, once)."""
        return Objective(self.task, self.folds(), self.all_rows, self.metric, self.adapters, self.target.n_classes, n_jobs,
                         scheduler or Scheduler(), device, self.task.build_options(self.spec), constraints=constraints)


def build_problem(
    spec: TaskSpec, X: Any, y: pd.Series, estimators: str | Sequence[str], search_space: Mapping[str, Any] | None,
    time_budget: float | None, seed: int, groups: Any = None,
) -> TuningProblem:
    """Resolve the task on ``y``, encode it, learn the all-rows transform, resolve the space, split the rows.

    ``X`` is a DataFrame, or a CSR matrix (``automl.sparse``: only the families that take it are searched);
    ``estimators`` are family names, or "auto" for the task's default families; ``groups`` one id per row
    for kinds that use them (ranking).
    """
    spec = spec.resolve(y)
    task = spec.plugin
    if is_sparse(X) and not task.sparse_input:
        raise InputError(f'X is a sparse matrix, but task="{task.kind}" needs a DataFrame (its columns are named in '
                         "the fit arguments); pass X as a DataFrame.")
    spec = task.complete(spec, X)
    metric = get_metric(spec.metric, task.metric_kind)  # type: ignore[arg-type]
    target = task.encode_target(y)
    data = task.fit_data(X, target, spec, groups)
    preprocessor = task.make_preprocessor(spec).fit(X, target.values)
    features = preprocessor.transform(X)
    summary = summarize(features, preprocessor, y, target.classes is not None)
    from automl.params import resolve_families, sparse_families

    families = resolve_families(estimators, task)
    if summary.sparse:
        families = sparse_families(families, estimators)
    space = build_space({f: task.adapter_for(get_adapter(f), spec) for f in families}, task.estimator_kind, summary,
                        search_space)
    eval_method = spec.choose_eval_method(summary.n_rows, summary.n_features, time_budget)
    splits = tuple(task.splits(data, eval_method, spec, seed))
    all_rows = AllRows(features, target.values, tuple(preprocessor.categorical_features_), data.row_arrays())
    return TuningProblem(spec, task, data, target, preprocessor, all_rows, summary, metric, space, eval_method, splits,
                         seed, fingerprint(X, y))


def build_space(adapters: Mapping[str, EstimatorAdapter], estimator_kind: str, summary: DataSummary,
                overrides: Mapping[str, Any] | None) -> JointSpace:
    """Each family's space (shipped, or overridden by a file or a dict), resolved on the data."""
    spaces: dict[str, SearchSpace] = {}
    overrides = dict(overrides or {})
    for family, adapter in adapters.items():
        space = adapter.search_space()
        override = overrides.get(family)
        if isinstance(override, Mapping):
            space = merge_overrides(space, override)
        elif override is not None:
            space = load_file(override, family=family)
        spaces[family] = space.for_task(estimator_kind, summary.bound_names())
    return JointSpace(spaces)
