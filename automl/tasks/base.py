"""The task plug-in: what a kind of task does with the fit data, its target and its predictions.

Everything that depends on the kind of task lives in one ``Task`` subclass:
how the target is checked and encoded, how the fit data is split for
validation, which features are learned per fold, what a prediction is, how a
metric is called, and what the saved model's predict returns. Nothing outside
``automl/tasks/`` branches on a task name; a new kind (forecasting, ranking)
is one more subclass registered in ``automl.tasks.TASKS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from automl.estimators import EstimatorAdapter
    from automl.fitdata import FitData, Fold, Split
    from automl.metrics import CustomMetric, Metric
    from automl.task import TaskSpec


@dataclass(frozen=True)
class EncodedTarget:
    """The target as estimators see it, and how to turn predictions back into the user's values."""

    values: np.ndarray
    classes: np.ndarray | None = None  # original labels, ordered as the encoded 0..k-1; None for numeric targets

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)


class Task:
    """One kind of task; instances are stateless (the spec's settings come with each call).

    ``estimator_kind`` is what estimator families and search-space parameters
    declare they serve ("classification", "regression"); ``metric_kind`` is what
    metrics declare they apply to; ``prediction`` is what :meth:`predict_output`
    returns ("proba": class probabilities, "value").
    """

    kind: ClassVar[str]
    estimator_kind: ClassVar[str]
    metric_kind: ClassVar[str]  # the kind named in a metric's ``tasks`` (a variant of a kind shares its metrics)
    default_metric: ClassVar[str]
    prediction: ClassVar[str] = "value"

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        """Raise ``InputError`` in one sentence when ``y`` cannot be this task's target."""

    def encode_target(self, y: pd.Series) -> EncodedTarget:
        return EncodedTarget(y.to_numpy(dtype=float))

    def encode_known(self, y: pd.Series, target: EncodedTarget) -> np.ndarray:
        """New targets (``score``) encoded as at fit."""
        return y.to_numpy(dtype=float)

    def splits(self, data: "FitData", method: str, spec: "TaskSpec", seed: int) -> list["Split"]:
        """Validation index pairs (train, validation) over the whole fit data."""
        raise NotImplementedError

    #: A validation fold's model may be shipped when a refit on all rows does not fit the time left. Not for
    #: forecasts: a backtest window's model ends where its window began and would forecast from that old origin.
    fold_models_ship: ClassVar[bool] = True
    #: A target may have missing values (a gap inside a series' history); tabular targets may not.
    missing_target_ok: ClassVar[bool] = False
    #: ``ensemble="stack"`` applies: a linear second level on the members' class probabilities or values.
    stacks: ClassVar[bool] = True
    #: None: the ensemble's weights are chosen greedily on the validation predictions and it ships only when it beats
    #: the best trial there. k: the ensemble is the plain mean of the k best trials, shipped whenever ensembling is on
    #: (too few validation rows to choose weights by).
    combine_best: ClassVar[int | None] = None
    #: ... of the k best trials whose validation loss is at most this many times the best's.
    combine_within: ClassVar[float] = 1.3
    #: X may be a scipy.sparse matrix (``automl.sparse``); forecasting needs named time and series columns.
    sparse_input: ClassVar[bool] = True
    #: Training rows may be subsampled as a cheaper fidelity on a large holdout split (``automl.row_fidelity``):
    #: rows are exchangeable (not a series' steps, not a query's documents).
    row_fidelity: ClassVar[bool] = False
    #: A model's latency per row is measured on a batch of validation rows (``constraints``); a forecast is per
    #: future step of each series, so a batch of repeated rows means nothing there.
    latency_per_row: ClassVar[bool] = True

    def complete(self, spec: "TaskSpec", X: pd.DataFrame) -> "TaskSpec":
        """The spec with the kind's own fields checked and completed from the data (forecasting: the season)."""
        return spec

    def job_params(self, spec: "TaskSpec", splits: list["Split"]) -> dict[str, Any]:
        """The kind's own settings recorded on the job's MLflow run (forecasting: horizon, season, windows)."""
        return {}

    def build_options(self, spec: "TaskSpec") -> dict[str, Any]:
        """What every family's build and every fold of this kind needs from the spec (``BuildContext.options``)."""
        return {}

    def serves(self, adapter: "type[EstimatorAdapter]", auto: bool) -> bool:
        """Whether a family can be searched for this kind (``auto``: part of estimators="auto")."""
        return self.estimator_kind in adapter.tasks and (adapter.in_auto or not auto)

    def adapter_for(self, adapter: "EstimatorAdapter", spec: "TaskSpec") -> "EstimatorAdapter":
        """The family as this kind fits it (forecasting wraps a tabular regressor into a lag-feature model)."""
        return adapter

    def finish_model(self, model: Any, spec: "TaskSpec", data: "FitData", splits: list["Split"], oof: Any,
                     trial: Any = None) -> None:
        """Anything the shipped model learns from the search (forecasting: conformal intervals from ``oof``)."""

    def result_metrics(self, model: Any) -> dict[str, float]:
        """The kind's own figures of the shipped model, recorded on the job's run (forecasting: interval coverage)."""
        return {}

    def report_data(self, model: Any) -> dict[str, Any] | None:
        """What the job report draws for this kind beyond the common charts, or None: a dict with "kind" (forecasting:
        each series' history and forecasts; ranking: the best trial's metric per validation query)."""
        return None

    def predict_interval(self, model: Any, X: pd.DataFrame, coverage: float) -> pd.DataFrame:
        from automl.errors import InputError

        raise InputError(f'predict_interval is for task="forecast"; this model is a {self.kind} model.')

    def fit_data(self, X: pd.DataFrame, target: EncodedTarget, spec: "TaskSpec", groups: Any = None) -> "FitData":
        """The fit data: the user's columns, the encoded target and the per-row arrays this kind uses.

        ``groups`` (one id per row) is for kinds that use them; the others refuse it in one sentence.
        """
        from automl.errors import InputError
        from automl.fitdata import FitData

        if groups is not None:
            raise InputError(f'groups was passed, but task="{self.kind}" does not use groups; '
                             'drop it (groups are for task="rank").')
        return FitData(X, target.values)

    def make_preprocessor(self, spec: "TaskSpec") -> Any:
        """A fresh feature transform, fitted on each fold's training rows (and on all rows for the shipped model).

        It has ``fit(X, y)``, ``transform(X)`` and ``categorical_features_`` (the output columns estimators
        treat as categories).
        """
        from automl.data import TabularPreprocessor

        return TabularPreprocessor()

    def predict_output(self, model: Any, X: pd.DataFrame, n_classes: int) -> np.ndarray:
        """What the task predicts for preprocessed rows: kept as out-of-fold predictions and scored."""
        return np.asarray(model.predict(X), dtype=float)

    def score_output(self, metric: "Metric", output: np.ndarray, fold: "Fold") -> float:
        """A built-in metric on the task's predictions for the fold's validation rows."""
        return float(metric.fn(fold.y_val, output))

    def score(self, metric: "Metric | CustomMetric", model: Any, output: np.ndarray, fold: "Fold",
              config: dict[str, Any] | None = None) -> tuple[float, dict[str, float]]:
        """The metric's value for a fitted model on the fold's validation rows, and the values to log."""
        from automl.metrics import CustomMetric

        if isinstance(metric, CustomMetric):
            labels = np.arange(fold.n_classes) if fold.n_classes else None
            value, logs = metric.fn(fold.X_val, fold.y_val, model, labels, fold.X_train, fold.y_train,
                                    None, None, config, fold.extras.get("groups_val"), fold.extras.get("groups_train"))
            return float(value), {k: float(v) for k, v in (logs or {}).items()}
        value = self.score_output(metric, output, fold)
        return value, {metric.log_name: value}

    def input_example(self, X: pd.DataFrame, preprocessor: Any) -> pd.DataFrame:
        """A few rows the shipped model predicts, for its MLflow signature (forecasting: future timestamps); None
        for a sparse X, whose MLflow model takes sparse matrices without a column schema."""
        from automl.sparse import is_sparse

        return None if is_sparse(X) else X.head(5)

    def oof_loss(self, metric: "Metric", spec: "TaskSpec", data: "FitData", splits: list["Split"], rows: np.ndarray,
                 n_classes: int) -> Any:
        """``loss(predictions, subset)``: the metric as a loss on the validation rows ``rows`` (or a subset of them).

        What ensembles are chosen and judged by; the predictions are out-of-fold, one per row of ``rows``.
        """
        from automl.fitdata import Fold

        y = data.y[rows]
        extras = self.oof_extras(spec, data, splits, rows)

        def loss(output: np.ndarray, subset: np.ndarray | None) -> float:
            pick = slice(None) if subset is None else subset
            fold = Fold(0, rows[pick], rows[pick], None, None, None, y[pick], n_classes,  # type: ignore[arg-type]
                        extras={name: values[pick] for name, values in extras.items()})
            try:
                return float(metric.loss(self.score_output(metric, output[pick], fold)))
            except ValueError:  # a resample with one class only: no verdict
                return float("nan")

        return loss

    def oof_extras(self, spec: "TaskSpec", data: "FitData", splits: list["Split"], rows: np.ndarray) -> dict[str, np.ndarray]:
        """Per-row context the metric needs on out-of-fold rows: their per-row arrays (ranking: query ids) as the
        validation side; forecasting adds each row's series scale."""
        return {f"{name}_val": values[rows] for name, values in data.row_arrays().items()}

    def evaluate(self, model: Any, spec: "TaskSpec", X: pd.DataFrame, y: np.ndarray, metric: "Metric | CustomMetric",
                 groups: Any = None) -> float:
        """The metric of a shipped model (``TunedModel``) on new rows ``X`` with encoded targets ``y``."""
        from automl.fitdata import Fold

        rows, features = np.arange(X.shape[0]), model.preprocessor.transform(X)
        n_classes = 0 if model.classes_ is None else len(model.classes_)
        extras = self.evaluation_extras(model, spec, X, y, features, groups)
        fold = Fold(0, rows, rows, features, y, features, y, n_classes, extras=extras)
        output = self.predict_output(model.estimator, fold.X_val, n_classes)
        return self.score(metric, model.estimator, output, fold)[0]

    def evaluation_extras(self, model: Any, spec: "TaskSpec", X: pd.DataFrame, y: np.ndarray, features: pd.DataFrame,
                          groups: Any) -> dict[str, Any]:
        """What scoring new rows needs beyond them: their per-row arrays (ranking: the query ids in ``groups``;
        a kind that uses none refuses ``groups``), for both sides of the scoring fold."""
        arrays = self.fit_data(X, EncodedTarget(y, model.classes_), spec, groups).row_arrays()
        return {f"{name}_{side}": values for name, values in arrays.items() for side in ("train", "val")}

    def decode(self, prediction: np.ndarray, target: EncodedTarget) -> np.ndarray:
        """A model's ``predict`` output in the user's values."""
        return np.asarray(prediction, dtype=float)
