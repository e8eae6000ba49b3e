"""Learning to rank: rows grouped by query, graded relevance labels, one score per row.

``task="rank"`` (alias ``"ranking"``) takes ``groups``, one query id per row in any order. Relevance labels are
graded non-negative integers. Validation splits by query (group k-fold, or a group holdout), so no query has
rows on both sides. Predictions are one score per row; a higher score ranks a row higher within its query.

Metrics (``ndcg@k``, ``ndcg``, ``map@k``, ``map``, ``mrr``, ``mrr@k``, ``precision@k``) are averaged over
queries; **a query whose rows all have the same label (a single row included) is left out of the average**,
in validation, in the boosting-round reports and in ``AutoML.score`` alike: every ordering of it scores the
same. Tied scores are ordered worst first. Details in :mod:`automl.rank_metrics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.errors import InputError
from automl.tasks.base import EncodedTarget, Task

if TYPE_CHECKING:
    from automl.fitdata import FitData, Fold, Split
    from automl.metrics import Metric
    from automl.task import TaskSpec


def check_labels(y: pd.Series) -> None:
    """Graded relevance: non-negative integers (1.0 counts as 1)."""
    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        raise InputError(f'task="rank" needs relevance labels that are non-negative integers, but y has dtype {y.dtype}; '
                         "encode the relevance grades as 0, 1, 2, ...")
    values = y.to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0) | (values != np.round(values)))
    if len(bad):
        raise InputError(f'task="rank" needs relevance labels that are non-negative integers, but y has the value '
                         f"{values[bad[0]]:g} (row {bad[0]}); encode the relevance grades as 0, 1, 2, ...")


def check_groups(groups: Any, n_rows: int) -> np.ndarray:
    """One query id per row, none missing; returned as codes 0..q-1 in order of first appearance."""
    if groups is None:
        raise InputError('task="rank" needs groups, one query id per row; pass groups=query_ids '
                         "(in a job file, group_column).")
    values = pd.Series(np.asarray(groups).ravel() if not isinstance(groups, pd.Series) else groups.to_numpy())
    if np.ndim(groups) != 1 or len(values) != n_rows:
        raise InputError(f"groups has {len(values)} value(s) but X has {n_rows} rows; pass one query id per row.")
    if values.isna().any():
        raise InputError(f"groups has {int(values.isna().sum())} missing query id(s); give every row its query.")
    return pd.factorize(values)[0].astype(np.int64)


class RankTask(Task):
    """Grouped rows with graded relevance labels; predictions are scores (see the module docstring)."""

    kind = metric_kind = estimator_kind = "rank"
    default_metric = "ndcg@10"
    stacks = False  # scores are compared within a query only: weights on scores, no second level

    def check_target(self, y: pd.Series, spec: "TaskSpec") -> None:
        check_labels(y)

    def encode_target(self, y: pd.Series) -> EncodedTarget:
        return EncodedTarget(y.to_numpy(dtype=float).astype(np.int64))

    def encode_known(self, y: pd.Series, target: EncodedTarget) -> np.ndarray:
        check_labels(y)
        return y.to_numpy(dtype=float).astype(np.int64)

    def fit_data(self, X: pd.DataFrame, target: EncodedTarget, spec: "TaskSpec", groups: Any = None) -> "FitData":
        from automl.fitdata import FitData

        return FitData(X, target.values, groups=check_groups(groups, X.shape[0]))

    def splits(self, data: "FitData", method: str, spec: "TaskSpec", seed: int) -> list["Split"]:
        """Group k-fold (shuffled) under "cv", a group holdout otherwise: no query on both sides."""
        from sklearn.model_selection import GroupKFold, GroupShuffleSplit

        assert data.groups is not None  # set by fit_data
        n_queries = len(np.unique(data.groups))
        if n_queries < 2:
            raise InputError("groups holds a single query; ranking needs at least two queries to validate on "
                             "queries it did not train on.")
        rows = np.zeros(len(data))
        if method == "cv":
            splitter: Any = GroupKFold(n_splits=min(spec.n_splits, n_queries), shuffle=True, random_state=seed)
        else:
            splitter = GroupShuffleSplit(n_splits=1, test_size=spec.validation_fraction(n_queries), random_state=seed)
        return [(np.sort(train), np.sort(val)) for train, val in splitter.split(rows, data.y, data.groups)]

    def score_output(self, metric: "Metric", output: np.ndarray, fold: "Fold") -> float:
        return float(metric.fn(fold.y_val, output, fold.extras["groups_val"]))

    def finish_model(self, model: Any, spec: "TaskSpec", data: "FitData", splits: list["Split"], oof: Any,
                     trial: Any = None) -> None:
        """Keep the shipped trial's metric on each validation query (for the report)."""
        from automl.metrics import get_metric

        metric = get_metric(spec.metric, self.metric_kind)  # type: ignore[arg-type]
        if oof is None or data.groups is None or not hasattr(getattr(metric, "fn", None), "per_query"):
            return
        rows = oof.rows
        model.validation_per_query_ = (metric.name, metric.fn.per_query(data.y[rows], oof.values, data.groups[rows]))

    def report_data(self, model: Any) -> dict[str, Any] | None:
        kept = getattr(model, "validation_per_query_", None)
        return None if kept is None else {"kind": "rank", "metric": kept[0], "values": kept[1]}
