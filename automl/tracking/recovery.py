"""A dead job's left journal: what its writer had not written when the job's whole process group died (``kill -9``,
the OOM killer, a container stop) is written before the job is ended KILLED or resumed.

Every writer journals each message as it arrives (``automl.tracking.delivery``), holding a lock on the journal that
the operating system lets go when the writer dies. ``automl resume`` / ``resume_from=`` and ``automl jobs`` look in
the journal folder (``automl.tracking.journal.journal_folder``) for left journals of the job they handle and write
them (``automl.tracking.sync``) first, so a resumed job replays every trial its first attempt finished.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from automl.tracking.journal import SUFFIX, is_left, journal_folder, journal_run_id
from automl.tracking.liveness import END_REASON_TAG, mark_dead

logger = logging.getLogger(__name__)


def left_journals(run_id: str, folder: Path | None = None) -> list[Path]:
    """The journals in ``folder`` (the journal folder by default) of job run ``run_id`` that no live writer holds."""
    folder = journal_folder() if folder is None else folder
    if not folder.is_dir():
        return []
    return [path for path in sorted(folder.glob(f"*{SUFFIX}")) if journal_run_id(path) == run_id and is_left(path)]


def write_left_journals(run_id: str) -> int:
    """Write the left journals of job run ``run_id`` to their store, without ending the job; return the trial runs
    written. A journal that cannot be written now is kept, and said so."""
    from automl.errors import InputError
    from automl.tracking.sync import sync_journal

    written = 0
    for path in left_journals(run_id):
        try:
            synced = sync_journal(path, cut_short=None)
        except InputError as exc:
            logger.warning("The journal of job run %s could not be written: %s", run_id, exc)
            continue
        written += synced.trials
        logger.warning("Job run %s: its writer stopped with %d trial run(s) unwritten; written from journal %s.",
                       run_id, synced.trials, path)
    return written


def end_dead_job(client: Any, run: Any) -> str:
    """Write dead job ``run``'s left journals, then end it KILLED at its last beat (``liveness.mark_dead``) unless
    its journal ended it; return the reason."""
    written = write_left_journals(run.info.run_id)
    fresh = client.get_run(run.info.run_id) if written else run
    if fresh.info.status != "RUNNING":
        return fresh.data.tags.get(END_REASON_TAG, f"ended {fresh.info.status}")
    return mark_dead(client, fresh, written)
