"""The MLflow writes of one tuning job: parent run, nested trial runs, summary and model.

Runs inside the writer process (see ``automl.tracking.writer``), which it owns:
it sets that process's global MLflow tracking URI. The search process never
waits on it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from automl.records import Trial, maximizes, text, to_run, trials_frame
from automl.tracking.delivery import store_unreachable
from automl.tracking.heartbeat import HEARTBEAT_TAG, Heartbeat, heartbeat_tags, interval_s
from automl.tracking.journal import JOB_UUID_TAG
from automl.tracking.liveness import END_REASON_TAG, mark_dead_jobs, marked_dead
from automl.tracking.model_logging import log_model, mlflow_safe_frame, warm_up_final_writes
from automl.tracking.run_summary import DATA_SOURCE_TAG, NOTE_TAG, description, training_dataset
from automl.tracking.sqlite_store import store_setup_lock, use_sqlite_wal
from automl.tracking.trial_runs import SqlTrialRunWriter, fill_with_client, write_with_client

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
        self.client: Any = None
        self.experiment_id: str | None = None
        #: Look before writing: the write now retried may have landed before its answer was lost (the store went
        #: away). Set for a retried message by the delivery and for the first message ``automl sync`` writes.
        self.careful = False
        self.found_landed = 0  # trial runs a careful write found in the store already (written before, unanswered)

    # -- what a journal keeps (``automl.tracking.journal``) ---------------------------------------------------
    def facts(self) -> dict[str, Any]:
        """What the writes so far taught this recorder about the store."""
        return {"run_id": self.run_id, "experiment_id": self.experiment_id, "model_uri": self.model_uri,
                "registered_uri": self.registered_uri, "tracking_uri": getattr(self, "tracking_uri", None)}

    def state(self) -> dict[str, Any]:
        """Everything needed to go on writing this job from another process (``restore``)."""
        return {**self.facts(), "requested_uri": self.requested_uri, "experiment": self.experiment,
                "fast_trial_runs": self.fast_trial_runs, "job": dict(self.job), "trials": list(self.trials),
                "data_source": self.data_source}

    @classmethod
    def restore(cls, state: dict[str, Any], facts: dict[str, Any], tracking_uri: str | None = None) -> MlflowRecorder:
        """A recorder that goes on from ``state`` and the later ``facts`` (a journal's), writing to ``tracking_uri``
        when given (the store moved), else where the job wrote."""
        recorder = cls(tracking_uri or state["requested_uri"], state["experiment"], state["fast_trial_runs"])
        recorder.job, recorder.trials, recorder.data_source = dict(state["job"]), list(state["trials"]), state["data_source"]
        known = {**{k: state.get(k) for k in ("run_id", "experiment_id", "model_uri", "registered_uri")},
                 **{k: v for k, v in facts.items() if k != "tracking_uri" and v is not None}}
        recorder.run_id, recorder.experiment_id = known["run_id"], known["experiment_id"]
        recorder.model_uri, recorder.registered_uri = known["model_uri"], known["registered_uri"]
        if tracking_uri is None:
            recorder.requested_uri = facts.get("tracking_uri") or state.get("tracking_uri") or state["requested_uri"]
        if recorder.run_id is not None:
            recorder._connect()
        return recorder

    def _connect(self) -> None:
        """The client, the experiment (created if need be) and the one-transaction trial writer."""
        import mlflow

        self.tracking_uri = self.requested_uri or mlflow.get_tracking_uri()
        if str(self.tracking_uri).startswith("sqlite:"):
            use_sqlite_wal()
        mlflow.set_tracking_uri(self.tracking_uri)  # model logging reads the global URI; this process is ours
        with store_setup_lock(str(self.tracking_uri)):  # another job may be creating the same store's tables
            client = mlflow.MlflowClient(tracking_uri=self.tracking_uri)
            if self.experiment_id is None:
                experiment = client.get_experiment_by_name(self.experiment)
                self.experiment_id = (
                    experiment.experiment_id if experiment else client.create_experiment(self.experiment)
                )
        self.client = client
        if self.fast_trial_runs:
            self.sql_writer = SqlTrialRunWriter.for_client(self.client, self.experiment_id)

    def open(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        """The job's run, its params, and the heartbeat; safe to call again after a failure part-way."""
        from mlflow.entities import Param

        if self.client is None:
            self._connect()
        if self.run_id is None and self.careful:  # an earlier try may have created it without hearing back
            self.run_id = self._find_run(JOB_UUID_TAG, tags.get(JOB_UUID_TAG))
        seconds = interval_s()
        if self.run_id is None:
            started = datetime.now(timezone.utc)  # the run's start and its first beat: one instant, not two
            run = self.client.create_run(
                self.experiment_id, start_time=int(started.timestamp() * 1000),
                tags={"automl.role": "job", **heartbeat_tags(seconds, started), **tags},
                run_name=tags.get("automl.job_name"),
            )
            self.run_id = run.info.run_id
        if self.heartbeat is None:
            self.heartbeat = Heartbeat(self._beat, seconds, on_late=self._revive).start()
        self.job = {**params, "strategy_reason": tags.get("automl.strategy_reason", "")}
        self.data_source = tags.get(DATA_SOURCE_TAG)
        self.client.log_batch(self.run_id, params=[Param(k, text(v)) for k, v in params.items()])
        self._end_dead_jobs()

    def when_idle(self) -> None:
        """With nothing queued after the run opened: the final writes' warm-up (``warm_up_final_writes``), so they
        take less of the budget's end, without delaying a trial's write."""
        try:
            warm_up_final_writes()
        except Exception as exc:  # noqa: BLE001 - only a head start: the final writes do it themselves
            logger.debug("The final writes' warm-up failed (%s: %s).", type(exc).__name__, exc)

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
        if "pareto" in leaderboard.columns:  # a multi-objective job: its front on its own
            front = leaderboard[leaderboard["pareto"].fillna(False).astype(bool)].drop(columns=["pareto"])
            self.client.log_text(self.run_id, front.to_csv(index=False), "pareto_front.csv")
        if best is not None:
            self.client.log_dict(self.run_id, {"estimator": best.estimator, "config": best.config}, "best_config.json")
        if model is not None and self.model_uri is None:  # not logged by an earlier try
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
        run = to_run(trial, strategy, self.run_id)
        landed = self._find_run("automl.trial_id", str(trial.trial_id), parent=self.run_id) if self.careful else None
        if landed is not None:  # an earlier try created it without hearing back, perhaps without its data
            fill_with_client(self.client, landed, run)
            self.trials.append(trial)
            self.found_landed += 1
            return
        if self.sql_writer is not None:
            self.sql_writer.validate(run)  # bad data is the trial's error on either path
            try:
                self.sql_writer.write(run)
                self.trials.append(trial)
                return
            except Exception as exc:  # noqa: BLE001 - an MLflow schema this writer does not know: the client can
                if store_unreachable(exc):
                    raise
                self.sql_writer = None
                logger.warning("trial runs go through MlflowClient from now on: the one-transaction write failed (%s)", exc)
        write_with_client(self.client, self.experiment_id, run)
        self.trials.append(trial)

    def _find_run(self, tag: str, value: str | None, parent: str | None = None) -> str | None:
        """The id of this experiment's run with ``tag`` = ``value`` (under ``parent``), if there is one."""
        if value is None:
            return None
        query = f"tags.`{tag}` = '{value}'" + ("" if parent is None else f" and tags.`mlflow.parentRunId` = '{parent}'")
        runs = self.client.search_runs([self.experiment_id], query, max_results=1)
        return runs[0].info.run_id if runs else None

    def register_model(self, name: str, tags: dict[str, str]) -> None:
        """Register the logged model as a new version of ``name`` in the model registry, with ``tags``."""
        import mlflow

        if self.model_uri is None:
            raise RuntimeError("no model was logged, so there is nothing to register")
        if self.registered_uri:  # registered by an earlier try
            return
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
        return log_model(model, input_example, self.run_id)
