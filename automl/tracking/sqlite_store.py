"""SQLite stores as the writer uses them: write-ahead-log mode, and a lock while MLflow creates a new store's tables."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent first opens of one new store may still race there
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def store_setup_lock(uri: str) -> Iterator[None]:
    """Hold an exclusive lock file next to a SQLite store while MLflow sets it up.

    MLflow creates and migrates a store's tables when it first opens it; two jobs
    starting at once on a new ``mlflow.db`` raced there ("duplicate column name",
    "table _alembic_tmp_... already exists") and one lost all its tracking. Other
    stores (a server, a real database) serialise that themselves.
    """
    path = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else None
    if path is None or fcntl is None:
        yield
        return
    with open(f"{path}.automl-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def use_sqlite_wal() -> None:
    """SQLite in write-ahead-log mode with NORMAL sync: a commit no longer waits for an fsync of the whole file.

    One nested run costs MLflow about a dozen small transactions; this took the
    writer from 15 to 10 ms per trial (benchmarks/results/tracking_scale.json)
    and lets the UI read while a job writes. Set on every SQLite connection this
    (writer) process opens; WAL is not meant for network file systems.
    """
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if event.contains(Engine, "connect", _sqlite_pragmas):
        return
    event.listen(Engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    if not type(connection).__module__.startswith("sqlite3"):
        return
    import sqlite3

    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.DatabaseError:  # not a SQLite file: MLflow reports that itself (raising here would make it retry for minutes)
        pass
    finally:
        cursor.close()
