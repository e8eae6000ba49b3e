"""``automl sync JOURNAL``: write what a job's writer kept in its journal (``automl.tracking.journal``) to the store.

The messages are written in their order, each at most once: the journal marks what it has written as it goes (a
second sync goes on from there), and the recorder looks for a trial's run before writing it (an answer lost with
the server may hide a write that landed). A job whose journal holds no end of the job (its writer died too) is
ended KILLED, with the reason. The journal is removed once everything is written.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass
from pathlib import Path

from automl.errors import InputError
from automl.tracking.delivery import store_unreachable, write_with_retries
from automl.tracking.journal import Journal, read_journal
from automl.tracking.mlflow_records import MlflowRecorder

#: Seconds a sync waits for a store that cannot be reached before it stops (the journal is kept).
PATIENCE_S = 30.0
#: Why a job is KILLED when its journal ends before the job did (its writer died with it).
CUT_SHORT = "the job's writer stopped before the job ended; its journal was written by automl sync"
ENDINGS = ("terminate", "abandon")


@dataclass
class Synced:
    """What a sync wrote: trial runs, whether the job's result was among them, and where."""

    run_id: str | None
    tracking_uri: str
    trials: int
    result: bool
    errors: list[str]


def sync_journal(path: str | Path, tracking_uri: str | None = None, patience_s: float = PATIENCE_S,
                 cut_short: str | None = CUT_SHORT) -> Synced:
    """Write the journal at ``path`` to its store (``tracking_uri`` when the store moved); remove it when done.

    A job the journal does not end is ended KILLED with reason ``cut_short`` (None: left for the caller to end).
    Raises :class:`InputError` when the store cannot be reached within ``patience_s`` (the journal is kept, with
    what was written marked), when ``path`` is not a journal, or when a running job still writes it.
    """
    read_journal(path)  # a clear error for a missing file or one that is not a journal, before it is opened
    journal = Journal(path, None)  # the lock: no live writer adds to it from here
    recorder: MlflowRecorder | None = None
    try:
        contents = read_journal(path)
        recorder = MlflowRecorder.restore(contents.state, contents.facts, tracking_uri)
        messages = [(seq, *pickle.loads(frame)) for seq, frame in contents.messages]
        written = [(method, args) for seq, method, args in messages if seq <= contents.applied_seq]
        recorder.trials += [args[0] for method, args in written if method == "write_trial"]  # in the job's report
        ended = any(method in ENDINGS for method, _ in written)
        synced = Synced(recorder.run_id, str(recorder.requested_uri or "the default store"), 0, False, [])
        first = min((seq for seq, _, _ in messages if seq > contents.applied_seq), default=-1)
        for seq, method, args in messages:
            if seq <= contents.applied_seq:
                continue
            if method != "open" and recorder.run_id is None:
                synced.errors.append(f"{method}: the job's run was never opened")
                continue
            recorder.careful = seq == first  # only the first may have been under way when the journal stopped
            give_up, found = time.monotonic() + patience_s, recorder.found_landed
            error = write_with_retries(lambda: getattr(recorder, method)(*args), lambda: time.monotonic() < give_up,
                                       lambda exc: setattr(recorder, "careful", True))
            if error is not None and store_unreachable(error):
                raise InputError(f"the store at {synced.tracking_uri} could not be reached for {patience_s:g}s "
                                 f"({type(error).__name__}: {str(error)[:200]}); journal {str(path)!r} is kept, with "
                                 "what was written marked: run `automl sync` again when the store is back.")
            if error is not None:
                synced.errors.append(f"{method}: {type(error).__name__}: {error}")
            journal.applied(seq, recorder.facts())
            synced.trials += method == "write_trial" and recorder.found_landed == found  # not one it found there
            synced.result = synced.result or method == "write_result"
            ended = ended or method in ENDINGS
        if not ended and recorder.run_id is not None and cut_short is not None:
            recorder.abandon(cut_short)
    except BaseException:
        journal.close()
        raise
    finally:
        if recorder is not None and recorder.heartbeat is not None:
            recorder.heartbeat.stop()
    journal.discard()
    synced.run_id = recorder.run_id
    synced.tracking_uri = str(getattr(recorder, "tracking_uri", synced.tracking_uri))
    return synced
