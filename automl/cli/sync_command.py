"""``automl sync [JOURNAL ...]``: write the journals of jobs whose MLflow store was away (``automl.tracking.sync``)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from automl.errors import InputError
from automl.tracking.journal import JOURNAL_DIR_ENV, SUFFIX, is_left, journal_folder


def run_sync(journals: list[Path], tracking_uri: str | None, console: Console) -> int:
    """Sync each journal (every one a job left in the journal folder when none is named: running jobs' are
    skipped); return how many were written."""
    from automl.tracking.sync import sync_journal

    if not journals:
        folder = journal_folder()
        found = sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []
        journals = [path for path in found if is_left(path)]
        for path in sorted(set(found) - set(journals)):
            console.print(f"{path}: skipped, a running job is writing it (it goes when that job ends).",
                          soft_wrap=True, markup=False)
        if not journals:
            raise InputError(f"no journal to sync: {str(folder)!r} holds no *{SUFFIX} file that a job left (set "
                             f"{JOURNAL_DIR_ENV} or name the journal).")
    for path in journals:
        synced = sync_journal(path, tracking_uri)
        result = " and the job's result" if synced.result else ""
        console.print(f"{path}: wrote {synced.trials} trial run(s){result} to run {synced.run_id} at "
                      f"{synced.tracking_uri}; the journal is removed.", soft_wrap=True, markup=False)
        for error in synced.errors:
            console.print(f"  not written: {error}", soft_wrap=True, markup=False)
    return len(journals)
