"""What the tracking writer could not send yet: a journal on disk, written while the store is away.

The journal is :data:`MAGIC`, then frames (``automl.tracking.frames``), each a pickled tuple:

- ``("state", dict)``: the recorder's state when the journal began (its first frame; see ``MlflowRecorder.state``);
- ``("message", seq, bytes)``: one message of the search process, as it was received, in order;
- ``("applied", seq, facts)``: every message up to ``seq`` is in the store; ``facts`` are what the recorder learnt
  from them (the job's run id, the model's URI).

It lives in :func:`journal_folder` (``./automl-journal``, or the folder in ``AUTOML_JOURNAL_DIR``), is begun with the
job's first message and removed when the job ends with everything in it written (a folder it created goes too, when
empty). The process that writes it holds a lock on it (``flock``), which the operating system lets go when that
process dies: a journal nobody holds is *left*, and whatever was not written when its writer stopped (the store was
away, or the job's whole process group was killed) is written by ``automl sync JOURNAL``, and by ``automl resume`` /
``automl jobs`` for the job they find dead (``automl.tracking.recovery``).
"""

from __future__ import annotations

import errno
import fcntl
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
    """An open journal, locked by this process; every frame is flushed to the operating system as it is added (a
    dead writer loses none)."""

    def __init__(self, path: str | Path, state: dict[str, Any] | None) -> None:
        """A new journal beginning with the recorder's ``state``; ``state=None`` continues the one at ``path``
        (``automl sync`` marks what it writes, so a second sync goes on from there), which must be left (no live
        process holds it)."""
        self.path = Path(path)
        self._made_folder = False
        if state is None:
            self._file: BinaryIO = self._continue()
            return
        self._file = self._create(state)

    def _continue(self) -> BinaryIO:
        try:  # never created here: a journal removed meanwhile (synced by another process) is not made again
            stream = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND), "ab")
        except FileNotFoundError:
            raise InputError(f"journal {str(self.path)!r} does not exist (any more): another sync may have written "
                             "it.") from None
        if not _lock(stream, fcntl.LOCK_EX):
            stream.close()
            raise InputError(f"journal {str(self.path)!r} is still being written by a running job (its writer "
                             "holds it); let that job end, then sync what it left.")
        return stream

    def _create(self, state: dict[str, Any]) -> BinaryIO:
        """Written under a hidden name, locked, then renamed: no one sees a journal without its start or its lock."""
        hidden = self.path.with_name(f".{self.path.name}.new")
        for attempt in range(3):  # another job may remove the empty folder between its creation and the file's
            try:
                self.path.parent.mkdir(parents=True)
                self._made_folder = True
            except FileExistsError:
                pass
            try:
                stream = open(hidden, "xb")
                break
            except FileNotFoundError:
                if attempt == 2:
                    raise
        try:
            if not _lock(stream, fcntl.LOCK_EX):
                raise OSError(errno.EWOULDBLOCK, "the new journal is locked by another process")
            stream.write(MAGIC)
            write_frame(stream, ("state", state))
            stream.flush()
            os.rename(hidden, self.path)
        except BaseException:
            stream.close()
            hidden.unlink(missing_ok=True)
            raise
        return stream

    def add(self, seq: int, frame: bytes) -> None:
        self._add(("message", seq, frame))

    def applied(self, seq: int, facts: dict[str, Any]) -> None:
        self._add(("applied", seq, facts))

    def close(self) -> None:
        """Keep the file: what it holds is still to be written (``automl sync``)."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

    def discard(self) -> None:
        """Everything in it is in the store: the file goes, and the folder with it when this journal made it and
        nothing else is in it."""
        try:
            self.path.unlink(missing_ok=True)
        finally:
            self._file.close()
        if self._made_folder:
            try:
                self.path.parent.rmdir()
            except OSError:  # another job's journal is there, or the folder went already
                pass

    def _add(self, record: tuple[Any, ...]) -> None:
        write_frame(self._file, record)
        self._file.flush()


def _lock(stream: BinaryIO, kind: int) -> bool:
    """Take a lock (``fcntl.LOCK_EX`` or ``LOCK_SH``) on an open journal; False when another process holds an
    exclusive one (a live writer)."""
    try:
        fcntl.flock(stream.fileno(), kind | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


def is_left(path: str | Path) -> bool:
    """Whether the journal at ``path`` is left: no live process holds its lock (its writer ended or died). A shared
    lock is enough to tell, and works on a read-only descriptor (NFS emulates flock with POSIX locks); where locks
    cannot be taken at all, the journal does not count as left."""
    try:
        with open(path, "rb") as stream:
            return _lock(stream, fcntl.LOCK_SH)  # closing the file lets the lock go again
    except OSError:
        return False


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


def journal_job(path: str | Path) -> tuple[str | None, str | None]:
    """The job a journal writes: its run's id (None until the store created it) and the id the search process drew
    for it (tag ``automl.job_uuid``, in the journal's first message, so a run created without an answer is found
    too); (None, None) for a file that is not a journal. Read only as far as needed."""
    run_id = job_uuid = None
    try:
        with open(path, "rb") as stream:
            if stream.read(len(MAGIC)) != MAGIC:
                return None, None
            while run_id is None and (frame := read_frame(stream)) is not None:
                kind, *body = pickle.loads(frame)
                if kind == "state":
                    run_id = body[0].get("run_id")
                elif kind == "applied":
                    run_id = body[1].get("run_id")
                elif kind == "message" and job_uuid is None:
                    method, args = pickle.loads(body[1])
                    if method == "open":
                        job_uuid = args[1].get(JOB_UUID_TAG)
    except Exception:  # noqa: BLE001 - a file that cannot be read as a journal names no job
        return None, None
    return run_id, job_uuid
