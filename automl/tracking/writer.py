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
import sys
from typing import Any, BinaryIO

from automl.tracking.mlflow_records import MlflowRecorder


def serve(recorder: MlflowRecorder, inbox: BinaryIO) -> list[str]:
    """Apply messages until "close"; return the errors met (a failed open skips the rest)."""
    errors: list[str] = []
    opened = False
    while True:
        try:
            method, args = pickle.load(inbox)
        except EOFError:
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
    pickle.dump(reply, replies)
    replies.flush()


if __name__ == "__main__":
    main()
