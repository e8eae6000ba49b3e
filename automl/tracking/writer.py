"""The tracking writer process: ``python -m automl.tracking.writer [ignores-ctrl-c]``.

Its first message is its job's target, ``("target", (tracking_uri, experiment, working_folder, journal_folder))``
(``automl.tracking.writer_process``); it imports what it needs while it waits for it. Then it reads
``(method, args)`` messages (length-prefixed pickles, ``automl.tracking.frames``) from stdin and delivers them to
an ``MlflowRecorder`` (``automl.tracking.delivery``: in order, retried while the store is away, journaled),
acknowledging each written one on stdout as ``("ack", method, seconds)`` and saying ``("store", up)`` when the
store stops answering and when it is back; on ``("close", (deadline, slow_grace_s))`` (or end of input)
it answers ``("reply", dict)`` with ``run_id``, ``model_uri``, ``registered_uri``, ``tracking_uri``, ``errors``, and
``journal`` / ``unwritten_trials`` / ``unwritten`` for what could not be written by the deadline.
Living in its own process, MLflow's Python work (SQLAlchemy, serialisation)
never competes with the search loop for the interpreter lock. From "open" until
the job's run ends, a thread of this process refreshes the run's heartbeat
(``automl.tracking.heartbeat``), so a job that died with this process is seen dead.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Callable

from automl.tracking.chatter import ENV, route_to
from automl.tracking.delivery import Delivery
from automl.tracking.frames import IGNORES_CTRL_C, read_frame
from automl.tracking.journal import JOURNAL_DIR_ENV, journal_folder
from automl.tracking.mlflow_records import MlflowRecorder
from automl.tracking.model_logging import import_model_libraries
from automl.tracking.writer_process import SPARE_IDLE_S

#: Why a job's run is KILLED when the search process stopped talking to the writer.
ABANDONED = "the search process ended without finishing the job (killed or crashed); its finished trials are recorded"
#: Seconds the search process has after Ctrl-C to end the job itself before this process terminates it.
INTERRUPT_GRACE_S = 10.0
#: Seconds between SIGTERM and SIGKILL when the search process must be stopped.
TERMINATE_WAIT_S = 3.0
#: Seconds an orphaned writer (its search process died) keeps trying to write what it received.
ORPHAN_WAIT_S = 30.0
#: MLflow's HTTP client settings in this process, unless the user set them: one retry of its own, which urllib3
#: makes at once (a kept-alive connection the server closed meanwhile), where its defaults held one lost request
#: for up to about four minutes (the delivery retries with back-off itself); a bounded wait for an answer; and no
#: "View run at" lines, each of which costs a request to the server (``get_run``) when a run ends.
WRITER_MLFLOW_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
                     "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}


@dataclass
class Served:
    """The errors met (a failed open skips the rest), and the journal that keeps what is not written (if any)."""

    errors: list[str]
    journal: Path | None = None
    unwritten: list[str] = field(default_factory=list)  # the methods of the messages in the journal

    def answer(self) -> dict[str, Any]:
        return {"errors": self.errors, "journal": None if self.journal is None else str(self.journal),
                "unwritten_trials": self.unwritten.count("write_trial"),
                "unwritten": sorted(set(self.unwritten) - {"write_trial"})}


def serve(
    recorder: MlflowRecorder, inbox: BinaryIO, abandoned: Callable[[], tuple[str, str]] = lambda: (ABANDONED, "KILLED"),
    done: Callable[[str, float], None] = lambda method, seconds: None, folder: Path | None = None,
    store: Callable[[bool], None] = lambda up: None,
) -> Served:
    """Deliver messages (``automl.tracking.delivery``) until "close"; return what became of them.

    "close" carries the wall-clock time by which the search process wants the answer, and the seconds a store
    that still answers (slow, not away) gets beyond it; what is not written then stays in the journal. Input that
    ends without "close" means the search process died (killed, out of memory): the trials already received are
    written, and the job's run ends with the reason and status ``abandoned()`` (KILLED) instead of staying RUNNING
    forever, within :data:`ORPHAN_WAIT_S` or from the journal by ``automl sync``. Input that ends before its first
    message (a job that took this writer and ended before it opened its run) leaves nothing.
    """
    frame = read_frame(inbox)
    if frame is None:
        return Served([])
    delivery = Delivery(recorder, folder or journal_folder(), done, store).start()
    while True:
        if frame is None:  # input ended, or a message was cut off mid-write by the death of its sender
            delivery.put("abandon", abandoned())
            deadline, slow_grace_s = time.time() + ORPHAN_WAIT_S, 0.0
            break
        message = delivery.receive(frame)
        if message is not None and message[0] == "open":
            # In this thread, which unpickles every message: in the delivery's thread, the import raced with
            # unpickling a model here (xgboost's circular imports: KeyError 'xgboost', the model not logged).
            import_model_libraries(str(message[1][0].get("estimators", "")).split(","))
        if message is not None and message[0] == "close":
            deadline, slow_grace_s = message[1] if message[1] else (time.time() + ORPHAN_WAIT_S, 0.0)
            break
        frame = read_frame(inbox)
    delivery.end_of_input()
    kept = None if delivery.wait_written(deadline, slow_grace_s) else delivery.keep_the_rest()
    return Served(delivery.errors, *(kept or (None, [])))


class InterruptWatch:
    """Ctrl-C reaches the whole process group, this process included.

    The search process handles it (the job is recorded as FAILED and it exits in
    about a second). A search process stuck in native code that holds Python's
    interpreter lock never gets to run its handler; if it is still alive
    ``grace_s`` after the interrupt, it is terminated (SIGTERM, then SIGKILL).
    Input that ends after an interrupt is an interrupted job: FAILED, with
    :attr:`ending`'s reason. This process never stops on Ctrl-C, so its writes finish.
    A search process that ignores SIGINT (started in the background of a script, or by ``nohup``-like tools:
    the signal is ignored from its start) gets no watch: the job goes on, as the user asked of it.
    """

    def __init__(self, search_pid: int, grace_s: float = INTERRUPT_GRACE_S) -> None:
        self.search_pid, self.grace_s = search_pid, grace_s
        self.interrupted = self.forced = False
        self._timer: threading.Timer | None = None

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.on_interrupt)

    def on_interrupt(self, signum: int, frame: Any) -> None:
        self.interrupted = True
        if self._timer is None:
            self._timer = threading.Timer(self.grace_s, self._stop_search)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def ending(self) -> tuple[str, str]:
        """The reason and run status of a job whose input ended without "close"."""
        if self.forced:
            return (f"interrupted (Ctrl-C): the search process did not stop within {self.grace_s:g}s "
                    "(busy in native code), so it was terminated; its finished trials are recorded", "FAILED")
        if self.interrupted:
            return "interrupted (Ctrl-C) before the job was closed; its finished trials are recorded", "FAILED"
        return ABANDONED, "KILLED"

    def _stop_search(self) -> None:
        if os.getppid() != self.search_pid:  # it has exited already (this process was re-parented)
            return
        self.forced = True
        print(f"automl: the job did not stop within {self.grace_s:g}s of Ctrl-C; terminating process "
              f"{self.search_pid}.", file=sys.stderr, flush=True)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(self.search_pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + TERMINATE_WAIT_S
            while time.monotonic() < deadline:
                if os.getppid() != self.search_pid:
                    return
                time.sleep(0.05)


def _import_ahead(uri: str | None) -> None:
    """Import what the job's first writes need: MLflow's SQL store (SQLAlchemy, alembic: 0.7 s on 2 cores) for a
    database or the default store (or a store not known yet), and scikit-learn (0.75 s), which every shipped model
    is unpickled with. Imports only: the store is not touched before the job opens its run."""
    import sklearn.base  # noqa: F401

    if not uri or uri.partition(":")[0].partition("+")[0] in ("sqlite", "postgresql", "mysql", "mssql"):
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401


def _job_target(inbox: BinaryIO, idle_s: float) -> tuple[str, str, str, str] | None:
    """The job's target, the first message: at once when it is already there (a writer started by its job), else
    once it comes, the imports done meanwhile; None when the input ends first or after ``idle_s`` without one."""
    waiting = not select.select([inbox], [], [], 0)[0]
    if waiting:
        _import_ahead(None)
        if not select.select([inbox], [], [], idle_s)[0]:
            return None
    frame = read_frame(inbox)
    if frame is None:
        return None
    kind, target = pickle.loads(frame)
    assert kind == "target", kind
    if not waiting:
        _import_ahead(target[0])
    return target


def main() -> None:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the replies
    for name, value in WRITER_MLFLOW_ENV.items():  # the delivery retries a lost request itself, without holding the others
        os.environ.setdefault(name, value)
    route_to(os.environ.get(ENV))
    target = _job_target(sys.stdin.buffer, SPARE_IDLE_S)
    if target is None:  # no job took this writer: it has written nothing
        sys.stderr.flush()
        os._exit(0)
    uri, experiment, folder, journals = target
    os.chdir(folder)  # a relative store or artifact path is the job's
    os.environ[JOURNAL_DIR_ENV] = journals
    watch = InterruptWatch(os.getppid())
    if sys.argv[1:2] != [IGNORES_CTRL_C]:
        watch.install()
    recorder = MlflowRecorder(uri or None, experiment)

    lock = threading.Lock()

    def tell(*message: Any) -> None:
        try:
            with lock:
                pickle.dump(message, replies)
                replies.flush()
        except (BrokenPipeError, ValueError):  # the search process is gone; the writes go on
            pass

    served = serve(recorder, sys.stdin.buffer, watch.ending, lambda method, seconds: tell("ack", method, seconds),
                   folder=Path(journals), store=lambda up: tell("store", up))
    watch.cancel()
    reply: dict[str, Any] = {
        "run_id": recorder.run_id,
        "model_uri": recorder.model_uri,
        "registered_uri": recorder.registered_uri,
        "tracking_uri": getattr(recorder, "tracking_uri", uri),
        **served.answer(),
    }
    try:
        pickle.dump(("reply", reply), replies)
        replies.flush()
    except BrokenPipeError:  # nobody is left to read the answer (the search process died)
        pass
    # Every write is committed; skip the interpreter's teardown (about a second with MLflow and SQLAlchemy loaded),
    # which the search process would otherwise wait for at the end of the budget.
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
