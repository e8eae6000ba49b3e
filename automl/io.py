"""Reading tables and writing predictions (CSV or Parquet), with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from automl.errors import InputError

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


def read_table(path: str | Path, parameter: str = "data") -> pd.DataFrame:
    """Load a CSV or Parquet file, or an svmlight/libsvm file (see :mod:`automl.svmlight`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{parameter} file {str(path)!r} does not exist; pass the path of a CSV or Parquet file.")
    from automl.svmlight import is_svmlight, read_svmlight

    if is_svmlight(path):
        return read_svmlight(path, parameter)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            f"{parameter} file {str(path)!r} has an unknown type {path.suffix!r}; use a .csv or .parquet file (or .svmlight for svmlight/libsvm)."
        )
    try:
        frame = reader(path)
    except Exception as exc:  # noqa: BLE001 - any parser failure is bad input
        raise InputError(f"{parameter} file {str(path)!r} could not be read ({exc}); check its format.") from exc
    if frame.empty:
        raise InputError(f"{parameter} file {str(path)!r} holds no rows; pass a file with data.")
    return frame


def split_target(frame: pd.DataFrame, target: str, source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the target column, naming the available columns when it is missing."""
    if target not in frame.columns:
        raise InputError(
            f"target column {target!r} is not in {source}; its columns are: {', '.join(map(str, frame.columns))}."
        )
    return frame.drop(columns=[target]), frame[target]


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet by the file's suffix; the folder must exist."""
    path = Path(path)
    if path.suffix.lower() not in READERS:
        raise InputError(f"output file {str(path)!r} has an unknown type {path.suffix!r}; use .csv or .parquet.")
    if not path.parent.exists():
        raise InputError(f"the folder of output file {str(path)!r} does not exist; create it first.")
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
