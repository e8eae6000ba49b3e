"""The data of one fit as one value, and a validation fold prepared from it.

``FitData`` carries the user's table (columns as given, checked), the encoded
target, and the optional per-row arrays other task kinds need (groups for
ranking, a time index and series ids for forecasting, weights); every one of
them is cut by the same row indices. ``Fold`` is one validation split after the
task's feature transform was fitted on its training rows only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.sparse import take_rows

#: (training row indices, validation row indices)
Split = tuple[np.ndarray, np.ndarray]
ROW_ARRAYS = ("groups", "time", "series", "weights")


@dataclass(frozen=True)
class FitData:
    """X (the user's columns), y (encoded) and optional per-row groups, time index, series ids and weights."""

    X: pd.DataFrame  # or a sparse matrix (``automl.sparse``)
    y: np.ndarray
    groups: np.ndarray | None = None
    time: np.ndarray | None = None
    series: np.ndarray | None = None
    weights: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.y)

    def row_arrays(self) -> dict[str, np.ndarray]:
        """The optional per-row arrays that are set, by name ("groups", ...)."""
        return {name: getattr(self, name) for name in ROW_ARRAYS if getattr(self, name) is not None}

    def take(self, rows: np.ndarray) -> "FitData":
        """The rows ``rows`` of every part."""
        cut = {name: None if getattr(self, name) is None else getattr(self, name)[rows] for name in ROW_ARRAYS}
        return replace(self, X=take_rows(self.X, rows), y=self.y[rows], **cut)


@dataclass
class Fold:
    """One validation split, with features learned on its training rows only."""

    index: int
    train_rows: np.ndarray
    val_rows: np.ndarray
    X_train: pd.DataFrame
    y_train: np.ndarray
    X_val: pd.DataFrame
    y_val: np.ndarray
    n_classes: int
    categorical: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)  # the fold's groups / time / series / weights, by name
    #: the feature transform fitted on this fold's training rows: a fold model shipped as the job's model keeps it
    #: (its categories are the fold's, not all rows')
    preprocessor: Any = None

    def side(self, which: str) -> dict[str, np.ndarray]:
        """One side's per-row arrays ("train" or "val"), by their FitData names: what a fit of that side gets."""
        return {name: self.extras[f"{name}_{which}"] for name in ROW_ARRAYS if f"{name}_{which}" in self.extras}


def prepare_fold(task: Any, spec: Any, data: FitData, index: int, split: Split, n_classes: int) -> Fold:
    """Fit the task's feature transform (for ``spec``) on the split's training rows and apply it to both sides."""
    train_rows, val_rows = split
    train, val = data.take(train_rows), data.take(val_rows)
    preprocessor = task.make_preprocessor(spec).fit(train.X, train.y)
    extras = {f"{name}_{side}": values for side, part in (("train", train), ("val", val))
              for name, values in part.row_arrays().items()}
    extras.update(task.build_options(spec))
    return Fold(index, train_rows, val_rows, preprocessor.transform(train.X), train.y, preprocessor.transform(val.X),
                val.y, n_classes, tuple(preprocessor.categorical_features_), extras, preprocessor)


def splits_fingerprint(splits: list[Split]) -> str:
    """A short hash of the validation rows of every split (the job's identity depends on them)."""
    digest = hashlib.sha256()
    for train, val in splits:
        digest.update(np.asarray(train, dtype=np.int64).tobytes())
        digest.update(b"|")
        digest.update(np.asarray(val, dtype=np.int64).tobytes())
        digest.update(b";")
    return digest.hexdigest()[:16]


__all__ = ["FitData", "Fold", "ROW_ARRAYS", "Split", "prepare_fold", "splits_fingerprint"]
