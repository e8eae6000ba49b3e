"""The writer's delivery of the search process's messages: in order, retried while the store is away, journaled.

The writer's main thread reads messages and hands them to :class:`Delivery`; one thread of the delivery applies
them to the ``MlflowRecorder``, one at a time and in order. A write that fails because the store cannot be reached
(:func:`store_unreachable`: a server down or restarting, a SQLite file locked) is retried with bounded back-off
(:data:`FIRST_BACKOFF_S` doubling to :data:`MAX_BACKOFF_S`, so a store that is back is seen within 2 s). Every
message is also kept in a journal on disk (``automl.tracking.journal``) as it arrives, with a mark once it is
written, so a writer killed with its job (the whole process group, the OOM killer) leaves what the store has not got
behind; the journal goes when the job ends with everything written. A write the store refuses (bad data) is an
error and the next message goes. The main thread decides when to stop waiting (:meth:`Delivery.wait_written`);
what is left then stays in the journal for ``automl sync``.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from automl.tracking.journal import JOURNAL_DIR_ENV, Journal, journal_name

logger = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.25
MAX_BACKOFF_S = 2.0
#: HTTP statuses of a server that is there but cannot answer now (a proxy before a restarting server).
UNAVAILABLE_STATUSES = ("error code 502", "error code 503", "error code 504")

Item = tuple[int, str, tuple[Any, ...], bytes]  # seq, method, args, the message as received


def store_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the store cannot be reached now (the same write can succeed later), as opposed to a
    write the store refuses, which never will."""
    import requests

    seen: BaseException | None = exc
    for _ in range(8):  # the exception, then what it was raised from or during
        if seen is None:
            return False
        text = str(seen)
        if isinstance(seen, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ConnectionError,
                             TimeoutError)):
            return True
        if "database is locked" in text or any(status in text for status in UNAVAILABLE_STATUSES):
            return True
        if text.startswith("API request to") and "failed with exception" in text:  # MLflow's words for a lost request
            return True
        if text.startswith("API request to") and "failed with timeout exception" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def write_with_retries(call: Callable[[], None], keep_trying: Callable[[], bool],
                       on_unreachable: Callable[[BaseException], None]) -> BaseException | None:
    """Run ``call`` until it succeeds (None), fails for a reason other than the store's absence (that exception),
    or ``keep_trying()`` says stop after an unreachable store (that exception); ``on_unreachable`` sees each miss."""
    backoff = FIRST_BACKOFF_S
    while True:
        try:
            call()
            return None
        except Exception as exc:  # noqa: BLE001 - classified below; the caller records it
            if not store_unreachable(exc):
                return exc
            on_unreachable(exc)
            if not keep_trying():
                return exc
            time.sleep(backoff)
            backoff = min(2 * backoff, MAX_BACKOFF_S)


class Delivery:
    """Applies messages to ``recorder`` in a thread of its own, in order; see the module's docstring.

    ``done(method, seconds)`` is called once per message, when it is written (or refused), with the seconds the
    last try took; ``store(up)`` when the store stops answering (False) and when it answers again (True).
    """

    def __init__(self, recorder: Any, folder: Path, done: Callable[[str, float], None] = lambda method, seconds: None,
                 store: Callable[[bool], None] = lambda up: None) -> None:
        self.recorder, self.folder, self.done, self.store = recorder, folder, done, store
        self.errors: list[str] = []
        self.opened = False
        self.journal: Journal | None = None
        self._job_name: str | None = None
        self._lock = threading.Condition()
        self._queue: deque[Item] = deque()
        self._in_flight: Item | None = None
        self._down = False
        self._seq = 0
        self._ended = self._drained = False
        self._no_journal = False
        self._missed = False  # the store missed a write that is not yet written again
        self._stopped = False  # keep_the_rest was called: the journal is closed, nothing more is written
        self._thread = threading.Thread(target=self._apply_all, name="automl-mlflow-delivery", daemon=True)

    def start(self) -> Delivery:
        self._thread.start()
        return self

    def receive(self, frame: bytes) -> tuple[str, tuple[Any, ...]] | None:
        """Queue one received message; return it (method, args), or None when it cannot be read (an error)."""
        try:
            method, args = pickle.loads(frame)
        except Exception as exc:  # noqa: BLE001 - one unreadable message (a class that cannot be imported here)
            self.errors.append(f"a message could not be read: {type(exc).__name__}: {exc}")
            return None
        if method != "close":
            self.put(method, args, frame)
        return method, args

    def put(self, method: str, args: tuple[Any, ...], frame: bytes | None = None) -> None:
        if method == "open":
            self._job_name = args[1].get("automl.job_name")
        with self._lock:
            item = (self._seq, method, args, frame if frame is not None else pickle.dumps((method, args)))
            self._seq += 1
            self._queue.append(item)
            if self.journal is None and not self._no_journal and not self._stopped:
                self._try_journal([], "")
            self._journal_write(lambda journal: journal.add(item[0], item[3]))
            self._lock.notify_all()

    def end_of_input(self) -> None:
        """No more messages will come."""
        with self._lock:
            self._ended = True
            self._lock.notify_all()

    def wait_written(self, deadline: float, slow_grace_s: float = 0.0) -> bool:
        """Wait until every message is written (True) or the wall-clock ``deadline`` passes (False); past it, a
        store that still answers (slow, not away) gets ``slow_grace_s`` more, until it stops answering."""
        with self._lock:
            while not self._drained:
                now = time.time()
                if now >= deadline + slow_grace_s or (now >= deadline and self._down):
                    return False
                self._lock.wait(deadline - now if now < deadline else 0.1)
            return True

    def keep_the_rest(self) -> tuple[Path | None, list[str]] | None:
        """Stop here: what is not written stays in the journal (closed, kept); return its path (None where no
        journal could be written) and the methods of the messages in it, or None when nothing is left."""
        with self._lock:
            self._stopped = True  # the delivery thread takes nothing more: what it writes now would not be marked
            left = ([self._in_flight] if self._in_flight is not None else []) + list(self._queue)
            if not left:
                return None
            methods = [method for _, method, _, _ in left]
            try:
                if self.journal is None:
                    self._begin_journal(left)
                journal, self.journal = self.journal, None
                assert journal is not None  # begun above
                journal.close()
            except OSError as exc:
                logger.warning("%d message(s) for the store could not be kept in a journal (%s).", len(left), exc)
                return None, methods
            return journal.path, methods

    # -- the delivery thread -----------------------------------------------------------------------------------
    def _apply_all(self) -> None:
        idle_work = True  # the recorder's work for a moment with nothing to write (once, after the job's run opened)
        while True:
            with self._lock:
                if self._stopped:
                    return
                while not self._queue:
                    if self._ended:
                        self._drained = True
                        self._journal_write(Journal.discard)  # the job ended with everything written
                        self.journal = None
                        self._lock.notify_all()
                        return
                    if idle_work and self.opened:
                        break
                    self._lock.wait()
                item = self._in_flight = self._queue.popleft() if self._queue else None
            if item is None:
                idle_work = False
                self.recorder.when_idle()
                continue
            self._apply(item)
            with self._lock:
                self._in_flight = None
                self._journal_write(lambda journal: journal.applied(item[0], self.recorder.facts()))
                if self._missed and not self._queue:
                    self._missed = False
                    logger.warning("The store is back; every message it missed is written.")
                self._lock.notify_all()

    def _apply(self, item: Item) -> None:
        seq, method, args, _ = item
        if method != "open" and not self.opened:
            return  # the job's run could not be opened: nothing else can be written
        tried = [time.perf_counter()]

        def attempt() -> None:
            tried[0] = time.perf_counter()
            getattr(self.recorder, method)(*args)

        error = write_with_retries(attempt, lambda: True, self._unreachable)
        self.recorder.careful = False
        if error is None:
            self.opened = self.opened or method == "open"
        else:
            self.errors.append(f"{method}: {type(error).__name__}: {error}")
        if self._down:
            self._down = False
            self.store(True)
        self.done(method, time.perf_counter() - tried[0])

    def _unreachable(self, exc: BaseException) -> None:
        """The store missed a write: from now on, what is not written is kept in the journal too."""
        if not self._down:
            self._down = True
            self.store(False)
        self.recorder.careful = True  # the write may have landed without its answer: look before writing it again
        with self._lock:
            if self._missed:
                return
            self._missed = True
            if self.journal is None and not self._no_journal and not self._stopped:
                assert self._in_flight is not None  # a miss happens inside _apply
                self._try_journal([self._in_flight, *self._queue], f" ({type(exc).__name__}: {exc})")
            if self.journal is not None:
                logger.warning("The store cannot be reached (%s: %s); retrying, and keeping what is not written in %s.",
                               type(exc).__name__, str(exc)[:300], self.journal.path)
            elif not self._stopped:
                logger.warning("The store cannot be reached (%s: %s); retrying, from memory (no journal).",
                               type(exc).__name__, str(exc)[:300])

    def _journal_write(self, write: Callable[[Journal], None]) -> None:
        """Under the lock: one write to the journal; one that fails (a full disk) ends the journal, said once, and
        the store is still written from memory."""
        if self.journal is None:
            return
        try:
            write(self.journal)
        except OSError as exc:
            journal, self.journal, self._no_journal = self.journal, None, True
            try:
                journal.discard()
            except OSError:
                pass
            logger.warning("The journal %s could not be written (%s); it is given up: what the store has not got "
                           "when the job ends or is killed cannot be kept.", journal.path, exc)

    def _try_journal(self, items: list[Item], why: str) -> None:
        """Under the lock: begin the journal with ``items``; where it cannot be written, say so once (``why`` the
        store's miss, if that is the occasion) and go on from memory."""
        try:
            self._begin_journal(items)
        except OSError as err:
            self._no_journal = True
            logger.warning("No journal can be written in %s (%s): what the store has not got when the job ends or "
                           "is killed cannot be kept%s; set %s to a writable folder.", self.folder, err, why,
                           JOURNAL_DIR_ENV)

    def _begin_journal(self, items: list[Item]) -> None:
        """Under the lock: a journal holding the recorder's state and ``items``."""
        self.journal = Journal(self.folder / journal_name(self._job_name), self.recorder.state())
        for item in items:
            self.journal.add(item[0], item[3])
