"""Resuming a job from MLflow: recorded trials are replayed without fitting, the search goes on as if never stopped."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from mlflow import MlflowClient

from automl import AutoML, InputError


def job(tracking_uri: str, experiment: str, **kwargs: object) -> AutoML:
    params = {"time_budget": None, "seed": 3, "n_jobs": 1, "tracking_uri": tracking_uri, "experiment": experiment,
              "estimators": ["lgbm", "rf", "lr"]}
    params.update(kwargs)
    return AutoML(**params)  # type: ignore[arg-type]


def trials_of(m: AutoML) -> list[tuple]:
    return [(t.trial_id, t.estimator, t.config, t.status, "nan" if t.score is None or math.isnan(t.score) else t.score)
            for t in m.study_.trials]


def test_resumed_job_equals_an_uninterrupted_one(breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str,
                                                 experiment: str) -> None:
    X, y = breast_cancer
    first = job(tracking_uri, experiment, max_trials=6).fit(X, y)
    fitted: list[int] = []
    resumed = job(tracking_uri, experiment, max_trials=10, resume_from=first.mlflow_run_id_,
                  callbacks=[lambda study, trial: fitted.append(trial.trial_id) if not trial.replayed else None]).fit(X, y)
    straight = job(tracking_uri, experiment, max_trials=10).fit(X, y)
    assert trials_of(resumed) == trials_of(straight)
    assert [t.replayed for t in resumed.study_.trials] == [True] * 6 + [False] * 4 and fitted == [6, 7, 8, 9]
    assert [t.duration_s for t in resumed.study_.trials[:6]] == pytest.approx([t.duration_s for t in first.study_.trials], abs=1e-3)

    client = MlflowClient(tracking_uri)
    parent = client.get_run(resumed.mlflow_run_id_)
    assert parent.info.status == "FINISHED" and parent.data.tags["automl.resumed_from"] == first.mlflow_run_id_
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{resumed.mlflow_run_id_}'")
    assert len(children) == 10
    assert sorted(int(c.data.tags["automl.trial_id"]) for c in children if c.data.tags.get("automl.replayed")) == list(range(6))


def test_a_replayed_best_trial_is_refitted(breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str,
                                           experiment: str) -> None:
    X, y = breast_cancer
    first = job(tracking_uri, experiment, max_trials=4).fit(X, y)
    again = job(tracking_uri, experiment, max_trials=4, resume_from=first.mlflow_run_id_).fit(X, y)
    assert again.best_trial_.replayed and again.best_config_ == first.best_config_
    assert again.refit_ == "all rows"
    pd.testing.assert_series_equal(pd.Series(again.predict_proba(X)[:, 1]), pd.Series(first.predict_proba(X)[:, 1]))


def test_resuming_another_job_is_refused(breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str,
                                         experiment: str) -> None:
    X, y = breast_cancer
    first = job(tracking_uri, experiment, max_trials=2).fit(X, y)
    with pytest.raises(InputError, match=rf"resume_from='{first.mlflow_run_id_}' was a job with seed='3', this one has seed=4"):
        job(tracking_uri, experiment, max_trials=4, seed=4, resume_from=first.mlflow_run_id_).fit(X, y)
    changed = X.copy()
    changed.iloc[0, 0] += 1.0  # same shape, other data
    with pytest.raises(InputError, match="was a job with data_fingerprint="):
        job(tracking_uri, experiment, max_trials=4, resume_from=first.mlflow_run_id_).fit(changed, y)
    with pytest.raises(InputError, match="resume_from='nope' is not in the MLflow store"):
        job(tracking_uri, experiment, max_trials=4, resume_from="nope").fit(X, y)
    with pytest.raises(InputError, match="needs tracking=True"):
        job(tracking_uri, experiment, tracking=False, max_trials=4, resume_from=first.mlflow_run_id_).fit(X, y)


def test_replay_stops_where_the_search_asks_for_something_new(breast_cancer: tuple[pd.DataFrame, pd.Series],
                                                              tracking_uri: str, experiment: str,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    X, y = breast_cancer
    first = job(tracking_uri, experiment, max_trials=4).fit(X, y)
    changed_space = {"rf": {"n_estimators": {"default": 50}}}  # rf's defaults, its first trial, differ from the record
    with caplog.at_level("WARNING", logger="automl.resume"):
        resumed = job(tracking_uri, experiment, max_trials=6, resume_from=first.mlflow_run_id_,
                      search_space=changed_space).fit(X, y)
    assert [t.replayed for t in resumed.study_.trials] == [True] + [False] * 5  # lgbm's defaults matched, rf's did not
    assert resumed.study_.trials[1].config["n_estimators"] == 50
    assert "Resume replayed 1 of 4 recorded trials" in caplog.text


def test_a_trial_running_when_the_job_ended_runs_first_and_the_later_ones_are_replayed(
        breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    first = job(tracking_uri, experiment, max_trials=3).fit(X, y)  # the defaults of lgbm, rf and lr
    client = MlflowClient(tracking_uri)
    (rf_run,) = client.search_runs([client.get_run(first.mlflow_run_id_).info.experiment_id],
                                   f"tags.mlflow.parentRunId = '{first.mlflow_run_id_}' and tags.`automl.trial_id` = '1'")
    client.delete_run(rf_run.info.run_id)  # as if rf's trial was running when the job died: never recorded
    resumed = job(tracking_uri, experiment, max_trials=None, time_budget=8, resume_from=first.mlflow_run_id_).fit(X, y)
    trials = resumed.study_.trials  # no trial limit: the replay asks up to the last recorded trial, past the gap
    assert [(t.estimator, t.replayed) for t in trials[:3]] == [("lgbm", True), ("lr", True), ("rf", False)]
    assert trials[2].config == first.study_.trials[1].config and trials[2].status == "ok"
