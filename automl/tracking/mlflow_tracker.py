"""MLflow tracking: one parent run per job, one nested run per trial, the best model logged.

Trial runs are written by a background thread so that the search loop never waits
on the tracking store; ``log_result`` drains the queue before the job's summary.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

import pandas as pd

from automl.errors import InputError
from automl.study import FAILED, OK, PRUNED, Trial
from automl.tracking.base import Tracker

logger = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "automl"
_RUN_STATUS = {OK: "FINISHED", FAILED: "FAILED", PRUNED: "KILLED"}
#: Seconds reserved for the final summary and model logging (measured: about 0.5 s on SQLite).
FINISH_RESERVE_S = 1.0


class MlflowTracker(Tracker):
    """Records a tuning job in MLflow through ``MlflowClient`` (batched writes).

    Opening the store (importing MLflow, creating the SQLite schema, the
    experiment and the parent run) happens on the writer thread too, so the
    search starts at once; a store that cannot be opened costs a warning, never
    the fitted model.
    """

    finish_reserve_s = FINISH_RESERVE_S

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None) -> None:
        check_tracking_uri(tracking_uri)
        self.requested_uri = tracking_uri
        self.experiment = experiment or DEFAULT_EXPERIMENT
        self.tracking_uri: str | None = tracking_uri
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._errors: list[str] = []
        self._opened = False

    # -- job ---------------------------------------------------------------
    def start(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        self._worker = threading.Thread(target=self._drain, name="automl-mlflow", daemon=True)
        self._queue.put(lambda: self._open(params, tags))
        self._worker.start()

    def log_trial(self, trial: Trial, strategy: str) -> None:
        snapshot = _snapshot(trial)
        self._queue.put(lambda: self._write_trial(snapshot, strategy))

    def log_result(
        self,
        leaderboard: pd.DataFrame,
        best: Trial | None,
        summary: dict[str, Any],
        model: Any,
        input_example: pd.DataFrame | None,
    ) -> None:
        self._flush()
        if not self._opened:
            return
        try:
            self._write_result(leaderboard, best, summary, model, input_example)
        except Exception as exc:  # noqa: BLE001 - the fitted model must survive a tracking failure
            self._errors.append(f"{type(exc).__name__}: {exc}")

    def end(self, failed: bool = False) -> None:
        self._flush()
        if self._opened:
            try:
                self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")
            except Exception as exc:  # noqa: BLE001
                self._errors.append(f"{type(exc).__name__}: {exc}")
        if self._errors:
            logger.warning("MLflow tracking at %s had %d error(s); first: %s", self.tracking_uri, len(self._errors), self._errors[0])
            warnings.warn(f"MLflow tracking failed ({self._errors[0]}); the model is fitted but not fully recorded.", RuntimeWarning, stacklevel=3)

    # -- internals -----------------------------------------------------------
    def _open(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        import mlflow
        from mlflow.entities import Param

        self.tracking_uri = self.requested_uri or mlflow.get_tracking_uri()
        self.client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
        experiment = self.client.get_experiment_by_name(self.experiment)
        self.experiment_id = (
            experiment.experiment_id if experiment else self.client.create_experiment(self.experiment)
        )
        run = self.client.create_run(
            self.experiment_id, tags={"automl.role": "job", **tags}, run_name=tags.get("automl.job_name")
        )
        self.run_id = run.info.run_id
        self.client.log_batch(self.run_id, params=[Param(k, _text(v)) for k, v in params.items()])
        self._opened = True

    def _flush(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()
        self._worker = None

    def _drain(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._errors and not self._opened:
                continue  # the store never opened: nothing more can be written
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - tracking must never kill the search
                self._errors.append(f"{type(exc).__name__}: {exc}")

    def _write_result(
        self, leaderboard: pd.DataFrame, best: Trial | None, summary: dict[str, Any], model: Any, input_example: pd.DataFrame | None
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, 0) for k, v in summary.items() if isinstance(v, (int, float))]
        params, tags = [], []
        if best is not None:
            metrics.append(Metric("best_score", float(best.score), now, 0))  # type: ignore[arg-type]
            params = [Param(f"best.{k}", _text(v)) for k, v in best.config.items()]
            tags = [RunTag("automl.best_estimator", best.estimator), RunTag("automl.best_trial_id", str(best.trial_id))]
        self.client.log_batch(self.run_id, metrics=metrics, params=params, tags=tags)
        self.client.log_text(self.run_id, leaderboard.to_csv(index=False), "leaderboard.csv")
        if best is not None:
            self.client.log_dict(self.run_id, {"estimator": best.estimator, "config": best.config}, "best_config.json")
        if model is not None:
            self.model_uri = self._log_model(model, input_example)

    def _write_trial(self, trial: Trial, strategy: str) -> None:
        from mlflow.entities import Metric, Param

        started = int(trial.started_at * 1000)
        tags = {
            "mlflow.parentRunId": self.run_id,
            "automl.role": "trial",
            "automl.trial_id": str(trial.trial_id),
            "automl.estimator": trial.estimator,
            "automl.strategy": strategy,
            "automl.status": trial.status,
        }
        if trial.error:
            tags["automl.error"] = trial.error[:5000]
        run = self.client.create_run(
            self.experiment_id, start_time=started, tags=tags, run_name=f"trial-{trial.trial_id:04d}-{trial.estimator}"
        )
        values = {"duration_s": trial.duration_s, "fit_time_s": trial.fit_time_s, **trial.metrics}
        if trial.score is not None:
            values["score"] = trial.score
        if trial.last_step is not None:
            values["last_step"] = trial.last_step
        metrics = [Metric(k, float(v), started, 0) for k, v in values.items()]
        metrics += [Metric("intermediate_loss", float(v), started, int(step)) for step, v in trial.intermediate]
        params = [Param(k, _text(v)) for k, v in trial.config.items()] + [Param("estimator", trial.estimator)]
        self.client.log_batch(run.info.run_id, metrics=metrics, params=params)
        end = started + int(trial.duration_s * 1000)
        self.client.set_terminated(run.info.run_id, _RUN_STATUS.get(trial.status, "FAILED"), end_time=end)

    def _log_model(self, model: Any, input_example: pd.DataFrame | None) -> str:
        import mlflow
        from mlflow.models import infer_signature

        import automl

        example = None if input_example is None else mlflow_safe_frame(input_example)
        signature = None if example is None else _optional_inputs(infer_signature(example, model.predict(input_example)))
        with _tracking_uri(self.tracking_uri):
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                serialization_format="cloudpickle",
                signature=signature,
                input_example=example,
                pip_requirements=_requirements(),
                code_paths=[str(Path(automl.__file__).parent)],
                run_id=self.run_id,
            )
        return str(info.model_uri)


def check_tracking_uri(uri: str | None) -> None:
    """Catch the mistakes that can be seen without contacting the store (a SQLite file in a missing folder)."""
    if uri is None:
        return
    if uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///"):]).parent
        if not folder.is_dir():
            raise InputError(f"tracking_uri={uri!r} points into folder {str(folder)!r}, which does not exist; create it or use another path.")
    elif "://" not in uri and not uri.startswith(("databricks", "file:")) and not Path(uri).parent.is_dir():
        raise InputError(f"tracking_uri={uri!r} is neither a URI (sqlite:///..., http://...) nor a path in an existing folder.")


@contextlib.contextmanager
def _tracking_uri(uri: str) -> Iterator[None]:
    """MLflow's model logging reads the global tracking URI: point it at ours, then restore it."""
    import mlflow

    try:  # MLflow's own save-and-restore, when this version has it
        from mlflow.tracking._tracking_service.utils import _use_tracking_uri
    except ImportError:
        _use_tracking_uri = None
    if _use_tracking_uri is not None:
        with _use_tracking_uri(uri):
            yield
        return
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)


def mlflow_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain objects, which MLflow's schemas understand.

    MLflow cannot convert pandas ``category`` columns; callers of the pyfunc model
    pass such columns as strings (as JSON and CSV requests do anyway).
    """
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object)
    return out


def _optional_inputs(signature: Any) -> Any:
    """Every input column may hold missing values at predict time, as ``TunedModel`` allows."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    columns = [ColSpec(c.type, c.name, required=False) for c in signature.inputs.inputs]
    return ModelSignature(inputs=Schema(columns), outputs=signature.outputs, params=signature.params)


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["scikit-learn", "lightgbm", "xgboost", "pandas", "numpy", "pyyaml", "optuna", "threadpoolctl"]
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _snapshot(trial: Trial) -> Trial:
    return Trial(**{**trial.__dict__, "config": dict(trial.config), "metrics": dict(trial.metrics)})


def _text(value: Any) -> str:
    return str(value)[:6000]
