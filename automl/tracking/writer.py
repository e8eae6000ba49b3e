"""The tracking writer process: ``python -m automl.tracking.writer TRACKING_URI EXPERIMENT``.

Reads ``(method, args)`` messages (length-prefixed pickles, ``automl.tracking.frames``) from stdin and applies them to an
``MlflowRecorder``, acknowledging each on stdout as ``("ack", method, seconds)``;
on ``("close", ())`` (or end of input) it answers ``("reply", dict)`` with
``run_id``, ``model_uri``, ``registered_uri``, ``tracking_uri``, ``errors``.
Living in its own process, MLflow's Python work (SQLAlchemy, serialisation)
never competes with the search loop for the interpreter lock. From "open" until
the job's run ends, a thread of this process refreshes the run's heartbeat
(``automl.tracking.heartbeat``), so a job that died with this process is seen dead.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
from typing import Any, BinaryIO, Callable

from automl.tracking.chatter import ENV, route_to
from automl.tracking.frames import read_frame
from automl.tracking.mlflow_records import MlflowRecorder

#: Why a job's run is KILLED when the search process stopped talking to the writer.
ABANDONED = "the search process ended without finishing the job (killed or crashed); its finished trials are recorded"
#: Seconds the search process has after Ctrl-C to end the job itself before this process terminates it.
INTERRUPT_GRACE_S = 10.0
#: Seconds between SIGTERM and SIGKILL when the search process must be stopped.
TERMINATE_WAIT_S = 3.0


def serve(
    recorder: MlflowRecorder, inbox: BinaryIO, abandoned: Callable[[], tuple[str, str]] = lambda: (ABANDONED, "KILLED"),
    done: Callable[[str, float], None] = lambda method, seconds: None,
) -> list[str]:
    """Apply messages until "close"; return the errors met (a failed open skips the rest).

    ``done(method, seconds)`` is called after each message. Input that ends without
    "close" means the search process died (killed, out of memory): the trials already
    received are written, and the job's run ends with the reason and status
    ``abandoned()`` (KILLED) instead of staying RUNNING forever.
    """
    errors: list[str] = []
    opened = False
    while True:
        frame = read_frame(inbox)
        if frame is None:  # input ended, or a message was cut off mid-write by the death of its sender
            if opened:
                recorder.abandon(*abandoned())
            return errors
        try:
            method, args = pickle.loads(frame)
        except Exception as exc:  # noqa: BLE001 - one unreadable message (a class that cannot be imported here)
            errors.append(f"a message could not be read: {type(exc).__name__}: {exc}")
            continue
        if method == "close":
            return errors
        started = time.perf_counter()
        if method == "open" or opened:
            try:
                getattr(recorder, method)(*args)
                opened = opened or method == "open"
            except Exception as exc:  # noqa: BLE001 - reported to the search process, which warns
                errors.append(f"{method}: {type(exc).__name__}: {exc}")
        done(method, time.perf_counter() - started)


class InterruptWatch:
    """Ctrl-C reaches the whole process group, this process included.

    The search process handles it (the job is recorded as FAILED and it exits in
    about a second). A search process stuck in native code that holds Python's
    interpreter lock never gets to run its handler; if it is still alive
    ``grace_s`` after the interrupt, it is terminated (SIGTERM, then SIGKILL).
    Input that ends after an interrupt is an interrupted job: FAILED, with
    :attr:`ending`'s reason. This process never stops on Ctrl-C, so its writes finish.
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


def main() -> None:
    watch = InterruptWatch(os.getppid())
    watch.install()
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the replies
    uri, experiment = sys.argv[1] or None, sys.argv[2]
    route_to(os.environ.get(ENV))
    recorder = MlflowRecorder(uri, experiment)

    def acknowledge(method: str, seconds: float) -> None:
        try:
            pickle.dump(("ack", method, seconds), replies)
            replies.flush()
        except BrokenPipeError:  # the search process is gone; the writes go on
            pass

    errors = serve(recorder, sys.stdin.buffer, watch.ending, acknowledge)
    watch.cancel()
    reply: dict[str, Any] = {
        "run_id": recorder.run_id,
        "model_uri": recorder.model_uri,
        "registered_uri": recorder.registered_uri,
        "tracking_uri": getattr(recorder, "tracking_uri", uri),
        "errors": errors,
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
