"""svmlight / libsvm files as tables: ``label [qid:ID] index:value ...`` per row, optionally a ``.query`` file.

A file is read as svmlight when its suffix is .svm, .svmlight or .libsvm, or when a companion ``<file>.query``
exists (one query size per line, in row order: LightGBM's format). The table has a ``label`` column, a ``qid``
column (from the ``qid:`` fields, else from the ``.query`` file; absent when neither) and one sparse column
``f<index>`` per feature index, absent entries being 0. Job files name them: ``target: label``, ``group_column: qid``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from automl.errors import InputError

LABEL, QID = "label", "qid"
SUFFIXES = (".svm", ".svmlight", ".libsvm")


def query_file(path: Path) -> Path:
    return path.with_name(path.name + ".query")


def is_svmlight(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES or query_file(path).is_file()


def read_svmlight(path: Path, parameter: str = "data") -> pd.DataFrame:
    """The file as a table: label, qid (when known) and f0..fN (pandas sparse columns, never densified; the file's
    0-based feature indices), which AutoML fits as a sparse matrix (``automl.sparse``)."""
    from sklearn.datasets import load_svmlight_file

    try:
        X, y, qid = load_svmlight_file(str(path), zero_based=True, query_id=True)
    except Exception as exc:  # noqa: BLE001 - any parser failure is bad input
        raise InputError(f"{parameter} file {str(path)!r} could not be read as svmlight ({exc}); check its format.") from exc
    if X.shape[0] == 0:
        raise InputError(f"{parameter} file {str(path)!r} holds no rows; pass a file with data.")
    frame = pd.DataFrame.sparse.from_spmatrix(X, columns=[f"f{j}" for j in range(X.shape[1])])
    groups = qid if len(qid) else _query_ids(path, X.shape[0], parameter)
    if groups is not None:
        frame.insert(0, QID, groups)
    frame.insert(0, LABEL, y)
    return frame


def _query_ids(path: Path, n_rows: int, parameter: str) -> np.ndarray | None:
    """One id per row from the companion .query file of group sizes, or None without one."""
    sizes_path = query_file(path)
    if not sizes_path.is_file():
        return None
    try:
        sizes = np.loadtxt(sizes_path, dtype=np.int64, ndmin=1)
    except ValueError as exc:
        raise InputError(f"query file {str(sizes_path)!r} could not be read ({exc}); it must hold one integer "
                         "query size per line.") from exc
    if (sizes < 1).any():
        raise InputError(f"query file {str(sizes_path)!r} has the size {int(sizes[sizes < 1][0])} on line "
                         f"{int(np.flatnonzero(sizes < 1)[0]) + 1}; give one positive size per query.")
    if int(sizes.sum()) != n_rows:
        raise InputError(f"query file {str(sizes_path)!r} has sizes adding up to {int(sizes.sum())} rows, but "
                         f"{parameter} file {str(path)!r} has {n_rows}; give one size per query, in row order.")
    return np.repeat(np.arange(len(sizes)), sizes)


def align_features(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """An svmlight table with the fitted model's feature columns: features absent from this file are 0."""
    missing = [c for c in columns if c not in frame.columns and c.startswith("f")]
    if not missing:
        return frame
    zeros = pd.DataFrame.sparse.from_spmatrix(sparse.csr_matrix((len(frame), len(missing))), index=frame.index,
                                              columns=missing)
    return pd.concat([frame, zeros], axis=1)
