"""What the tracking writer could not send yet: a journal on disk, written while the store is away.

The journal is :data:`MAGIC`, then frames (``automl.tracking.frames``), each a pickled tuple:

- ``("state", dict)``: the recorder's state when the journal began (its first frame; see ``MlflowRecorder.state``);
- ``("message", seq, bytes)``: one message of the search process, as it was received, in order;
- ``("applied", seq, facts)``: every message up to ``seq`` is in the store; ``facts`` are what the recorder learnt
  from them (the job's run id, the model's URI).

It lives in :func:`journal_folder` (``./automl-journal``, or the folder in ``AUTOML_JOURNAL_DIR``), is created on the
store's first failure and removed once everything in it is written. One left behind when a job ended is written by
``automl sync JOURNAL``.
"""

from __future__ import annotations

import os
import pickle
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from automl.errors import InputError
from automl.tracking.frames import read_frame, write_frame

#: Environment variable naming the folder journals are written to.
JOURNAL_DIR_ENV = "AUTOML_JOURNAL_DIR"
DEFAULT_FOLDER = "automl-journal"
SUFFIX = ".journal"
#: The first bytes of every journal (the format's version in the last one).
MAGIC = b"AUTOMLJ1"
#: Tag of a job's run: an id the search process draws, by which a run created without an answer is found again.
JOB_UUID_TAG = "automl.job_uuid"


def journal_folder() -> Path:
    """Where this process's jobs keep their journals: ``$AUTOML_JOURNAL_DIR``, else ``./automl-journal``."""
    return Path(os.environ.get(JOURNAL_DIR_ENV) or DEFAULT_FOLDER)


def journal_name(job_name: str | None) -> str:
    """A file name that no other job's journal has: the job's name, the time and this process's id."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", job_name or "job").strip("-") or "job"
    return f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}{SUFFIX}"


class Journal:
    """An open journal; every frame is flushed to the operating system as it is added (a dead writer loses none)."""

    def __init__(self, path: str | Path, state: dict[str, Any] | None) -> None:
        """A new journal beginning with the recorder's ``state``; ``state=None`` continues the one at ``path``
        (``automl sync`` marks what it writes, so a second sync goes on from there)."""
        self.path = Path(path)
        if state is None:
            self._file: BinaryIO = open(self.path, "ab")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "xb")
        self._file.write(MAGIC)
        self._add(("state", state))

    def add(self, seq: int, frame: bytes) -> None:
        self._add(("message", seq, frame))

    def applied(self, seq: int, facts: dict[str, Any]) -> None:
        self._add(("applied", seq, facts))

    def close(self) -> None:
        """Keep the file: what it holds is still to be written (``automl sync``)."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def discard(self) -> None:
        """Everything in it is in the store: the file goes."""
        self._file.close()
        self.path.unlink(missing_ok=True)

    def _add(self, record: tuple[Any, ...]) -> None:
        write_frame(self._file, record)
        self._file.flush()


@dataclass
class JournalContents:
    """A journal as read back: the state it began with and what came after."""

    state: dict[str, Any]
    messages: list[tuple[int, bytes]] = field(default_factory=list)
    applied_seq: int = -1
    facts: dict[str, Any] = field(default_factory=dict)


def read_journal(path: str | Path) -> JournalContents:
    """The journal at ``path``; a clear error when it is missing or not a journal. A frame cut off by the death of
    its writer ends the journal there."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"journal {str(path)!r} does not exist; journals are kept in {str(journal_folder())!r} "
                         f"(or ${JOURNAL_DIR_ENV}) and end in {SUFFIX}.")
    with open(path, "rb") as stream:
        first = read_frame(stream) if stream.read(len(MAGIC)) == MAGIC else None
        try:
            kind, state = pickle.loads(first) if first is not None else (None, None)
        except Exception:  # noqa: BLE001 - any unreadable start means it is not a journal
            kind = None
        if kind != "state":
            raise InputError(f"{str(path)!r} is not an automl tracking journal (it does not start with the "
                             "recorder's state); pass a file from the journal folder.")
        contents = JournalContents(state=state)
        while (frame := read_frame(stream)) is not None:
            record = pickle.loads(frame)
            if record[0] == "message":
                contents.messages.append((record[1], record[2]))
            elif record[0] == "applied" and record[1] > contents.applied_seq:
                contents.applied_seq, contents.facts = record[1], {**contents.facts, **record[2]}
    return contents
