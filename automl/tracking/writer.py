"""The tracking writer process: ``python -m automl.tracking.writer TRACKING_URI EXPERIMENT``.

Reads pickled ``(method, args)`` messages from stdin and applies them to an
``MlflowRecorder``; on ``("close", ())`` (or end of input) it answers one
pickled dict on stdout: ``run_id``, ``model_uri``, ``registered_uri``, ``tracking_uri``, ``errors``.
Living in its own process, MLflow's Python work (SQLAlchemy, serialisation)
never competes with the search loop for the interpreter lock.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import Any, BinaryIO

from automl.tracking.mlflow_records import MlflowRecorder

#: Why a job's run is KILLED when the search process stopped talking to the writer.
ABANDONED = "the search process ended without finishing the job (killed or crashed); its finished trials are recorded"


def serve(recorder: MlflowRecorder, inbox: BinaryIO) -> list[str]:
    """Apply messages until "close"; return the errors met (a failed open skips the rest).

    Input that ends without "close" means the search process died (killed, out of
    memory): the trials already received are written, and the job's run is
    marked KILLED with the reason instead of staying RUNNING forever.
    """
    errors: list[str] = []
    opened = False
    while True:
        try:
            method, args = pickle.load(inbox)
        except (EOFError, pickle.UnpicklingError):  # a message cut off mid-write by the death of its sender
            if opened:
                recorder.abandon(ABANDONED)
            return errors
        if method == "close":
            return errors
        if method != "open" and not opened:
            continue
        try:
            getattr(recorder, method)(*args)
            opened = opened or method == "open"
        except Exception as exc:  # noqa: BLE001 - reported to the search process, which warns
            errors.append(f"{method}: {type(exc).__name__}: {exc}")


def main() -> None:
    # Ctrl-C reaches the whole process group: the search process handles it and closes the job
    # (or dies, which ends this input); either way this process must finish its writes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the replies
    uri, experiment = sys.argv[1] or None, sys.argv[2]
    recorder = MlflowRecorder(uri, experiment)
    errors = serve(recorder, sys.stdin.buffer)
    reply: dict[str, Any] = {
        "run_id": recorder.run_id,
        "model_uri": recorder.model_uri,
        "registered_uri": recorder.registered_uri,
        "tracking_uri": getattr(recorder, "tracking_uri", uri),
        "errors": errors,
    }
    try:
        pickle.dump(reply, replies)
        replies.flush()
    except BrokenPipeError:  # nobody is left to read the answer (the search process died)
        pass


if __name__ == "__main__":
    main()
