"""A dead job's left journal: what its writer had not written when the job's whole process group died (``kill -9``,
the OOM killer, a container stop) is written before the job is ended KILLED or resumed.

Every writer journals each message as it arrives (``automl.tracking.delivery``), holding a lock on the journal that
the operating system lets go when the writer dies. ``automl resume`` / ``resume_from=`` and ``automl jobs`` look in
the journal folder of the process they run in (``automl.tracking.journal.journal_folder``: a relative folder is
the working directory's) for left journals of the jobs they find dead, and write them (``automl.tracking.sync``)
first, so a resumed job replays every trial its first attempt finished.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from automl.tracking.journal import JOB_UUID_TAG, SUFFIX, is_left, journal_folder, journal_job
from automl.tracking.liveness import END_REASON_TAG, mark_dead, marked_dead

logger = logging.getLogger(__name__)


def left_journals(runs: Iterable[Any], folder: Path | None = None) -> dict[str, list[Path]]:
    """The journals in ``folder`` (the journal folder by default) that no live writer holds, by the id of the job
    run among ``runs`` (``mlflow.entities.Run``) each writes: matched by run id, or by the job's drawn id where
    the run was created without its writer hearing back."""
    folder = journal_folder() if folder is None else folder
    if not folder.is_dir():
        return {}
    by_uuid = {run.data.tags[JOB_UUID_TAG]: run.info.run_id for run in runs if JOB_UUID_TAG in run.data.tags}
    ids = {run.info.run_id for run in runs}
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        run_id, job_uuid = journal_job(path)
        run_id = run_id if run_id in ids else by_uuid.get(job_uuid or "")
        if run_id is not None and is_left(path):
            found.setdefault(run_id, []).append(path)
    return found


def write_journals(run_id: str, journals: list[Path]) -> int:
    """Write job run ``run_id``'s left ``journals`` to their store, without ending the job; return the trial runs
    written. A journal that cannot be written now is kept, and said so."""
    from automl.tracking.sync import sync_journal

    written = 0
    for path in journals:
        try:
            with kept_tracking_uri():
                synced = sync_journal(path, cut_short=None)
        except Exception as exc:  # noqa: BLE001 - the journal stays for `automl sync`; the caller goes on
            logger.warning("The journal %s of job run %s could not be written (%s: %s); it is kept: run "
                           "`automl sync %s` later.", path, run_id, type(exc).__name__, exc, path)
            continue
        written += synced.trials
        logger.warning("Job run %s: its writer stopped with %d trial run(s) unwritten; written from journal %s.",
                       run_id, synced.trials, path)
    return written


def end_dead_job(client: Any, run: Any, journals: list[Path] | None = None) -> str:
    """Write dead job ``run``'s left journals (found in the journal folder unless given), then end it KILLED at its
    last beat (``liveness.mark_dead``; again, with the count, when it was ended so before its journal was
    written), unless its journal ended it; return the reason."""
    journals = left_journals([run]).get(run.info.run_id, []) if journals is None else journals
    written = write_journals(run.info.run_id, journals)
    fresh = client.get_run(run.info.run_id) if journals else run
    if fresh.info.status == "RUNNING" or (written and marked_dead(fresh.data.tags)):
        return mark_dead(client, fresh, written)
    return fresh.data.tags.get(END_REASON_TAG, f"ended {fresh.info.status}")


@contextmanager
def kept_tracking_uri() -> Iterator[None]:
    """MLflow's global tracking URI as it was: the recorder sets it (for model logging), which in the writer's own
    process is harmless and in a user's (``resume_from=``, ``automl jobs``) must not stay changed."""
    import mlflow
    from mlflow.tracking._tracking_service import utils

    before, environ = getattr(utils, "_tracking_uri", None), os.environ.get("MLFLOW_TRACKING_URI")
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)  # None: unset again (MLflow drops the environment variable with it)
        if environ is not None:
            os.environ["MLFLOW_TRACKING_URI"] = environ
