"""The MLflow writer imports a job's model libraries in the thread that unpickles the job's messages.

Imported by the delivery's thread at "open", XGBoost's circular imports raced with a model being unpickled in the
main thread: the model message could not be read (KeyError: 'xgboost') and the job's model was not logged (seen in
the README's snippets in a full test run).
"""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from xgboost import XGBClassifier

from automl.tracking.frames import write_frame

# A fresh interpreter (XGBoost not imported yet) serves the job's messages; a finder on sys.meta_path notes the
# thread of each import of xgboost. The second message is sent once xgboost was imported for the first.
SERVE = textwrap.dedent("""
    import os, sys, threading, time
    from pathlib import Path
    from automl.tracking.frames import write_frame
    from automl.tracking.mlflow_records import MlflowRecorder
    from automl.tracking.writer import serve

    importers = []

    class Spy:
        def find_spec(self, name, path=None, target=None):
            if name == "xgboost":
                importers.append(threading.current_thread().name)
            return None

    sys.meta_path.insert(0, Spy())
    store, model_message, journals = sys.argv[1], Path(sys.argv[2]).read_bytes(), Path(sys.argv[3])
    read, write = os.pipe()
    inbox, outbox = os.fdopen(read, "rb"), os.fdopen(write, "wb")

    def feed():
        write_frame(outbox, ("open", ({"estimators": "lr,xgboost"}, {"automl.job_name": "imports"})))
        outbox.flush()
        deadline = time.monotonic() + 60
        while not importers and time.monotonic() < deadline:
            time.sleep(0.05)
        outbox.write(model_message)
        write_frame(outbox, ("close", (time.time() + 30, 0.0)))
        outbox.close()

    threading.Thread(target=feed, daemon=True).start()
    served = serve(MlflowRecorder(store, "imports"), inbox, folder=journals)
    print("importers:", importers)
    print("errors:", served.errors)
    sys.stdout.flush()
    os._exit(0)
""")


def test_the_job_s_model_libraries_are_imported_in_the_thread_that_reads_its_messages(tmp_path: Path) -> None:
    X, y = load_breast_cancer(return_X_y=True)
    model = XGBClassifier(n_estimators=2, n_jobs=1).fit(X, y)
    message = io.BytesIO()
    write_frame(message, ("log_note", (model,)))  # holds a fitted XGBoost model; only its reading matters here
    (tmp_path / "model_message").write_bytes(message.getvalue())
    done = subprocess.run([sys.executable, "-c", SERVE, f"sqlite:///{tmp_path / 'mlflow.db'}",
                           str(tmp_path / "model_message"), str(tmp_path / "journals")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "importers: ['MainThread']" in done.stdout, done.stdout + done.stderr[-3000:]
    errors = done.stdout.split("errors:", 1)[1]
    assert "could not be read" not in errors, errors
