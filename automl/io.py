"""Reading tables and writing predictions (CSV or Parquet), with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from automl.atomic import replacing
from automl.csv_checks import ENCODING, check_complete, check_header, not_utf8
from automl.errors import InputError, reason

SUFFIXES = (".csv", ".parquet", ".pq")


def read_table(path: str | Path, parameter: str = "data") -> pd.DataFrame:
    """Load a CSV or Parquet file, or an svmlight/libsvm file (see :mod:`automl.svmlight`)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{parameter} file {str(path)!r} does not exist; pass the path of a CSV or Parquet file.")
    from automl.svmlight import is_svmlight, read_svmlight

    if is_svmlight(path):
        return read_svmlight(path, parameter)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"{parameter} file {str(path)!r} has an unknown type {path.suffix!r}; use a .csv or .parquet file (or .svmlight for svmlight/libsvm)."
        )
    if path.stat().st_size == 0:
        raise InputError(f"{parameter} file {str(path)!r} is empty (0 bytes); write it again or pass the file that holds the data.")
    frame = _read_csv(path, parameter) if suffix == ".csv" else _read_parquet(path, parameter)
    if frame.empty:
        raise InputError(f"{parameter} file {str(path)!r} holds no rows; pass a file with data.")
    return frame


def _read_csv(path: Path, parameter: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, encoding=ENCODING)
    except UnicodeDecodeError:
        raise not_utf8(path, parameter) from None
    except Exception as exc:  # noqa: BLE001 - any parser failure is bad input
        check_complete(path, len(check_header(path, parameter)), parameter)  # a file cut short, said as such
        raise InputError(f"{parameter} file {str(path)!r} could not be read as CSV ({reason(exc)}); check its format.") from exc
    check_complete(path, len(check_header(path, parameter)), parameter)
    return frame


def _read_parquet(path: Path, parameter: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file
        raise InputError(f"{parameter} file {str(path)!r} is not a readable Parquet file ({reason(exc)}); it may be cut "
                         "short or of another format: write it again.") from exc


def split_target(frame: pd.DataFrame, target: str, source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the target column, naming the available columns when it is missing."""
    if target not in frame.columns:
        raise InputError(
            f"target column {target!r} is not in {source}; its columns are: {', '.join(map(str, frame.columns))}."
        )
    return frame.drop(columns=[target]), frame[target]


def check_output(path: str | Path, parameter: str = "output") -> Path:
    """An output table's path must have a known suffix and an existing folder (checked before any work)."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{parameter} file {str(path)!r} has an unknown type {path.suffix!r}; use .csv or .parquet.")
    if not path.parent.exists():
        raise InputError(f"the folder of {parameter} file {str(path)!r} does not exist; create it first.")
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV or Parquet by the file's suffix; an existing file is replaced only once the new one is complete."""
    path = check_output(path)
    with replacing(path) as temporary:
        if path.suffix.lower() == ".csv":
            frame.to_csv(temporary, index=False)
        else:
            frame.to_parquet(temporary, index=False)
