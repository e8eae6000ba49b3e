"""The MLflow writes of one tuning job: parent run, nested trial runs, summary and model.

Runs inside the writer process (see ``automl.tracking.writer``), which it owns:
it sets that process's global MLflow tracking URI. The search process never
waits on it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from automl.records import Trial, maximizes, text, to_run, trials_frame
from automl.tracking.heartbeat import HEARTBEAT_TAG, Heartbeat, heartbeat_tags, interval_s
from automl.tracking.liveness import END_REASON_TAG, mark_dead_jobs, marked_dead
from automl.tracking.run_summary import DATA_SOURCE_TAG, NOTE_TAG, description, training_dataset
from automl.tracking.sqlite_store import store_setup_lock, use_sqlite_wal
from automl.tracking.trial_runs import SqlTrialRunWriter, write_with_client

logger = logging.getLogger(__name__)


class MlflowRecorder:
    """Writes through ``MlflowClient``; each trial's run in one transaction on SQL stores (``trial_runs``)."""

    def __init__(self, tracking_uri: str | None, experiment: str, fast_trial_runs: bool = True) -> None:
        self.requested_uri = tracking_uri
        self.experiment = experiment
        self.fast_trial_runs = fast_trial_runs  # False: every trial run through MlflowClient (for comparisons)
        self.run_id: str | None = None
        self.model_uri: str | None = None
        self.registered_uri: str | None = None
        self.job: dict[str, Any] = {}
        self.trials: list[Trial] = []  # for the job report
        self.sql_writer: SqlTrialRunWriter | None = None
        self.heartbeat: Heartbeat | None = None
        self.data_source: str | None = None

    def open(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        import mlflow
        from mlflow.entities import Param

        self.tracking_uri = self.requested_uri or mlflow.get_tracking_uri()
        if str(self.tracking_uri).startswith("sqlite:"):
            use_sqlite_wal()
        mlflow.set_tracking_uri(self.tracking_uri)  # model logging reads the global URI; this process is ours
        with store_setup_lock(str(self.tracking_uri)):  # another job may be creating the same store's tables
            self.client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
            experiment = self.client.get_experiment_by_name(self.experiment)
            self.experiment_id = (
                experiment.experiment_id if experiment else self.client.create_experiment(self.experiment)
            )
        seconds = interval_s()
        run = self.client.create_run(
            self.experiment_id, tags={"automl.role": "job", **heartbeat_tags(seconds), **tags},
            run_name=tags.get("automl.job_name"),
        )
        self.run_id = run.info.run_id
        self.heartbeat = Heartbeat(self._beat, seconds, on_late=self._revive).start()
        if self.fast_trial_runs:
            self.sql_writer = SqlTrialRunWriter.for_client(self.client, self.experiment_id)
        self.job = {**params, "strategy_reason": tags.get("automl.strategy_reason", "")}
        self.data_source = tags.get(DATA_SOURCE_TAG)
        self.client.log_batch(self.run_id, params=[Param(k, text(v)) for k, v in params.items()])
        import_model_libraries(str(params.get("estimators", "")).split(","))
        self._end_dead_jobs()

    def write_result(
        self, leaderboard: pd.DataFrame, best: Trial | None, summary: dict[str, Any], model: Any, input_example: pd.DataFrame | None
    ) -> None:
        from mlflow.entities import Metric, Param, RunTag

        now = int(time.time() * 1000)
        metrics = [Metric(k, float(v), now, 0) for k, v in summary.items() if isinstance(v, (int, float))]
        params, tags = [], []
        if best is not None:
            metrics.append(Metric("best_score", float(best.score), now, 0))  # type: ignore[arg-type]
            params = [Param(f"best.{k}", text(v)) for k, v in best.config.items()]
            tags = [RunTag("automl.best_estimator", best.estimator), RunTag("automl.best_trial_id", str(best.trial_id))]
        refit = summary.get("refit")
        tags.append(RunTag(NOTE_TAG, description(self.job, leaderboard, best, summary, refit if isinstance(refit, str) else None)))
        self.client.log_batch(self.run_id, metrics=metrics, params=params, tags=tags)
        self.log_training_data(input_example)
        self.client.log_text(self.run_id, leaderboard.to_csv(index=False), "leaderboard.csv")
        if best is not None:
            self.client.log_dict(self.run_id, {"estimator": best.estimator, "config": best.config}, "best_config.json")
        if model is not None:
            self.model_uri = self.log_model(model, input_example)
        self.write_report(summary, model)

    def log_training_data(self, input_example: pd.DataFrame | None) -> None:
        """The training data as the run's dataset input (the UI's Datasets column); never fails the job's result."""
        from mlflow.entities import DatasetInput, InputTag

        try:
            example = None if input_example is None else mlflow_safe_frame(input_example)
            dataset = training_dataset(self.job, example, self.data_source)
            self.client.log_inputs(self.run_id, datasets=[DatasetInput(dataset, [InputTag("mlflow.data.context", "training")])])
        except Exception as exc:  # noqa: BLE001 - a record for review, not part of the result
            logger.warning("The training data could not be logged as the run's dataset input (%s: %s).",
                           type(exc).__name__, exc)

    def write_report(self, summary: dict[str, Any], model: Any) -> None:
        """The job report (``report.html``) and the best model's ``feature_importance.json``."""
        try:
            from automl_dashboards import JobRecord, feature_importance, render_report
            from automl_dashboards.record import ensemble_of, report_data
        except ImportError:  # the review layouts are a separate package; the job itself does not need them
            return
        import automl

        importance = feature_importance(model) if model is not None else {}
        if importance:
            self.client.log_dict(self.run_id, importance, "feature_importance.json")
        frame = trials_frame(self.trials)
        members, ensemble_score = ensemble_of(model, frame)
        record = JobRecord(
            ensemble=members, ensemble_score=ensemble_score, job=self.job, trials=trials_frame(self.trials), intermediate={t.trial_id: t.intermediate for t in self.trials},
            time_split={k: float(v) for k, v in summary.items() if k.endswith("_s")}, feature_importance=importance,
            maximize=maximizes(self.job), run_id=self.run_id, task_report=None if model is None else report_data(model),
        )
        self.client.log_text(self.run_id, render_report(record, version=automl.__version__), "report.html")

    def write_trial(self, trial: Trial, strategy: str) -> None:
        """The trial's nested run: in one SQL transaction where the store allows, else through the client."""
        self.trials.append(trial)
        run = to_run(trial, strategy, self.run_id)
        if self.sql_writer is not None:
            self.sql_writer.validate(run)  # bad data is the trial's error on either path
            try:
                self.sql_writer.write(run)
                return
            except Exception as exc:  # noqa: BLE001 - an MLflow schema this writer does not know: the client can
                self.sql_writer = None
                logger.warning("trial runs go through MlflowClient from now on: the one-transaction write failed (%s)", exc)
        write_with_client(self.client, self.experiment_id, run)

    def register_model(self, name: str, tags: dict[str, str]) -> None:
        """Register the logged model as a new version of ``name`` in the model registry, with ``tags``."""
        import mlflow

        if self.model_uri is None:
            raise RuntimeError("no model was logged, so there is nothing to register")
        version = mlflow.register_model(self.model_uri, name, tags=tags)
        self.registered_uri = f"models:/{name}/{version.version}"

    def terminate(self, failed: bool, reason: str | None = None) -> None:
        if self.run_id is None:
            return
        self._stop_heartbeat()
        if reason:
            self.client.set_tag(self.run_id, END_REASON_TAG, reason[:5000])
        elif self.heartbeat is not None and self.heartbeat.was_late:
            self._revive()  # another process may have ended this run as dead while this one was silent
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")

    def abandon(self, reason: str, status: str = "KILLED") -> None:
        """The job's run ended as ``status`` by this process, with ``reason`` in tag ``automl.end_reason`` and the
        trials received so far (the search process died, or was stopped after Ctrl-C)."""
        if self.run_id is None:
            return
        self._stop_heartbeat()
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric("n_trials", float(len(self.trials)), now, 0)])
        self.client.set_tag(self.run_id, END_REASON_TAG, reason)
        self.client.set_terminated(self.run_id, status)

    # -- the heartbeat -----------------------------------------------------------------------------------------
    def _beat(self, value: str) -> None:
        self.client.set_tag(self.run_id, HEARTBEAT_TAG, value)

    def _stop_heartbeat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()

    def _revive(self, silence_s: float | None = None) -> None:
        """Undo another process's judgement that this job died (it was silent for ``silence_s``: asleep, stopped)."""
        run = self.client.get_run(self.run_id)
        if not marked_dead(run.data.tags):
            return
        self.client.delete_tag(self.run_id, END_REASON_TAG)
        if run.info.status == "KILLED":
            self.client.update_run(self.run_id, status="RUNNING")
        logger.warning("This job's run was ended as dead after %s without a heartbeat; it is alive, and so recorded.",
                       "a silence" if silence_s is None else f"{silence_s:.0f}s")

    def _end_dead_jobs(self) -> None:
        """End this experiment's dead jobs (``automl.tracking.liveness``): one search; never this job's failure."""
        try:
            for run, reason in mark_dead_jobs(self.client, [self.experiment_id], exclude=self.run_id):
                logger.info("Job run %s ended as KILLED: %s", run.info.run_id, reason)
        except Exception as exc:  # noqa: BLE001 - the next job or `automl jobs` tries again
            logger.warning("The dead jobs of experiment %r could not be ended (%s: %s).", self.experiment,
                           type(exc).__name__, exc)

    def log_model(self, model: Any, input_example: pd.DataFrame | None) -> str:
        import mlflow
        from mlflow.models import infer_signature

        import automl

        example = None if input_example is None else mlflow_safe_frame(input_example)
        signature = None if example is None else _optional_inputs(infer_signature(example, model.predict(input_example)))
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            serialization_format="cloudpickle",
            signature=signature,
            input_example=example,
            pip_requirements=_requirements(model),
            code_paths=[str(Path(automl.__file__).parent)],
            metadata={"automl_version": automl.__version__},  # checked by automl.persistence before loading
            run_id=self.run_id,
        )
        return str(info.model_uri)


def import_model_libraries(families: list[str]) -> None:
    """Import what the families' fitted models need at the start of the job, so receiving the best model at the
    end of the budget does not wait for imports (about a second for LightGBM and scikit-learn on 2 cores).
    In this thread: importing them in a second one raced with unpickling a model in this one."""
    import importlib

    from automl.estimators import ESTIMATORS

    for module in [m for f in families if f in ESTIMATORS for m in ESTIMATORS.get(f).libraries]:
        try:
            importlib.import_module(module)
        except ImportError:  # the job itself reports a missing library
            pass


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


def _requirements(model: Any) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    names = ["scikit-learn", "lightgbm", "xgboost", "pandas", "numpy", "pyyaml", "optuna", "threadpoolctl"]
    if _uses_torch(model):
        names.append("torch")
    names += list(getattr(getattr(model, "estimator", None), "libraries", ()))  # a forecaster's engines
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def _uses_torch(model: Any) -> bool:
    """Whether the tuned model's estimator is the PyTorch network (only then does serving need torch)."""
    steps = getattr(getattr(model, "estimator", None), "named_steps", {})
    return any(type(step).__module__ == "automl.estimators.torch_mlp" for step in steps.values())
