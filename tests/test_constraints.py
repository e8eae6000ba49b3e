"""Deployment limits (latency per row, model size): real models measured, infeasible trials never the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from automl import AutoML, AutoMLError, InputError
from automl.space import load_builtin, JointSpace
from automl.strategies import STRATEGIES
from automl.study import INFEASIBLE, OK, Study
from tests.test_cli import cli


def fit(X: pd.DataFrame, y: pd.Series, **kwargs: object) -> AutoML:
    params = {"task": "regression", "time_budget": None, "max_trials": 6, "estimators": ["rf", "lr"], "seed": 0,
              "n_jobs": 1, "tracking": False, "ensemble": False, "eval_method": "holdout"}
    params.update(kwargs)
    return AutoML(**params).fit(X, y)  # type: ignore[arg-type]


def test_a_size_limit_changes_which_model_wins_and_is_recorded(friedman: tuple[pd.DataFrame, pd.Series],
                                                                tracking_uri: str, experiment: str) -> None:
    X, y = friedman
    free = fit(X, y)
    assert free.best_estimator_ == "rf" and "model_mb" not in free.leaderboard().columns  # measured only with limits
    limited = fit(X, y, constraints={"model_mb": 0.1}, tracking=True, tracking_uri=tracking_uri, experiment=experiment)
    assert limited.best_estimator_ == "lr"
    board = limited.leaderboard()
    measured = board[board["status"].isin([OK, INFEASIBLE])]
    assert measured[["predict_ms_per_row", "predict_ms_single_row", "model_mb"]].notna().all().all()
    assert (measured.loc[measured["status"] == OK, "model_mb"] <= 0.1).all()
    infeasible = measured[measured["status"] == INFEASIBLE]
    assert len(infeasible) >= 1 and set(infeasible["estimator"]) == {"rf"} and (infeasible["model_mb"] > 0.1).all()
    assert infeasible["error"].str.startswith("breaks the constraints: model_mb ").all()
    assert infeasible["score"].max() > limited.best_score_  # the better forest was scored, and not shipped

    client = MlflowClient(tracking_uri)
    parent = client.get_run(limited.mlflow_run_id_)
    assert parent.data.params["constraint_model_mb"] == "0.1" and parent.data.params["constraint_batch_rows"] == "1000"
    assert 0 < parent.data.metrics["shipped_model_mb"] <= 0.1 and parent.data.metrics["shipped_predict_ms_per_row"] > 0
    assert limited.measured_["shipped_model_mb"] == parent.data.metrics["shipped_model_mb"] and free.measured_ == {}
    trial_runs = client.search_runs([parent.info.experiment_id], "tags.`automl.status` = 'infeasible'")
    assert len(trial_runs) == len(infeasible) and all(r.data.metrics["model_mb"] > 0.1 for r in trial_runs)


def test_no_trial_within_the_limits_is_one_sentence_naming_the_closest(friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = friedman
    with pytest.raises(AutoMLError, match=r"No trial met the constraints \(predict_ms_per_row <= 1e-09\) in 6 trial\(s\); "
                                          r"the closest was trial \d+ \(\w+: predict_ms_per_row [0-9.e-]+\), and the feature "
                                          r"transform of raw rows alone takes [0-9.e-]+ ms per row; relax the limits"):
        fit(X, y, constraints={"predict_ms_per_row": 1e-9})


def test_an_ensemble_counts_its_members_latency_and_size_together(friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    """Random search is not told the limits, so both jobs run the same trials; only the limit differs."""
    X, y = friedman
    options = {"estimators": ["lr", "lgbm", "rf"], "max_trials": 10, "strategy": "random", "ensemble": True}
    loose = fit(X, y, constraints={"model_mb": 1000}, **options)
    assert loose.ensemble_ is not None and len(loose.ensemble_) >= 2
    sizes = {t.trial_id: t.metrics["model_mb"] for t in loose.study_.trials if "model_mb" in t.metrics}
    members = [m["trial_id"] for m in loose.ensemble_]
    total, largest = sum(sizes[t] for t in members), max(sizes[t] for t in members)
    limit = (total + largest) / 2  # every member fits alone, not all together
    tight = fit(X, y, constraints={"model_mb": limit}, **options)
    chosen = [m["trial_id"] for m in tight.ensemble_ or [{"trial_id": tight.best_trial_.trial_id}]]
    assert sum(sizes[t] for t in chosen) <= limit and chosen != members


@pytest.mark.parametrize("name", ["tpe", "bo", "cfo"])
def test_the_learning_strategies_are_told_the_limits(name: str) -> None:
    from automl.constraints import Constraints

    space = JointSpace({"lr": load_builtin("lr")})
    strategy = STRATEGIES.get(name)(space, 0, ["lr"], constraints=Constraints(model_mb=1.0))
    study = Study(0)
    suggestion = strategy.ask()
    trial = study.start(suggestion)
    trial.status, trial.score, trial.loss, trial.metrics = INFEASIBLE, 0.5, -0.5, {"model_mb": 3.0}
    strategy.tell(suggestion, trial)
    if name == "cfo":
        searcher = strategy.searchers["lr"]
        assert searcher._metric_constraints == [("model_mb", "<=", 1.0)]  # FLAML penalises a result past it
    else:
        optuna_study = strategy.studies["lr"] if name == "bo" else strategy.study
        assert optuna_study.trials[0].constraints == {"model_mb": pytest.approx(2.0)}  # 3 MB is 200% past 1 MB
        assert optuna_study.trials[0].state.name == "COMPLETE"


@pytest.mark.parametrize("constraints, message", [
    ({"latency": 1}, "constraints has unknown key 'latency'; allowed keys: predict_ms_per_row, model_mb, batch_rows."),
    ({"model_mb": 0}, "constraints['model_mb']=0 is invalid; pass a positive number (megabytes of the pickled model)."),
    ({"model_mb": "5"}, "constraints['model_mb']='5' is invalid; pass a positive number"),
    ({"model_mb": 1, "batch_rows": 2.5}, "constraints['batch_rows']=2.5 is invalid; pass a positive whole number of rows."),
    ({"batch_rows": 10}, "constraints={'batch_rows': 10} sets no limit; add predict_ms_per_row or model_mb."),
    (5, "constraints=5 is invalid; pass a dict such as"),
])
def test_bad_constraints_are_one_sentence(constraints: object, message: str, friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = friedman
    with pytest.raises(InputError) as error:
        fit(X, y, constraints=constraints)
    assert str(error.value).startswith(message)


def test_a_forecast_takes_no_constraints() -> None:
    X = pd.DataFrame({"ds": pd.date_range("2020-01-31", periods=48, freq="ME")})
    y = pd.Series(np.arange(48.0))
    with pytest.raises(InputError, match='constraints apply to classification, regression and ranking, not to task="forecast"'):
        AutoML(task="forecast", constraints={"model_mb": 1}, tracking=False).fit(X, y, time_column="ds", horizon=6)


def test_the_job_file_and_the_flags_set_the_limits(tmp_path: Path, friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = friedman
    X.assign(y=y).to_csv(tmp_path / "train.csv", index=False)
    (tmp_path / "job.yaml").write_text("data: train.csv\ntarget: y\ntask: regression\n"
                                       "constraints: {model_mb: 0.5, batch_rows: 200}\n")
    shown = cli("tune", "job.yaml", "--max-predict-ms-per-row", "0.05", "--dry-run", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "predict_ms_per_row <= 0.05, model_mb <= 0.5" in shown.stdout  # the flag joined the file's limits
    bad = cli("tune", "job.yaml", "--max-model-mb", "-1", "--dry-run", cwd=tmp_path)
    assert bad.returncode != 0 and "constraints['model_mb']=-1.0 is invalid" in bad.stderr


def test_a_trial_the_deadline_cut_is_not_shipped_unmeasured(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """No trial finishes (20,000 boosting rounds per fold in 3 s): without limits the cut trial ships; with them it
    cannot, since nothing measured it, and measuring it then would overrun the budget."""
    import time

    X, y = breast_cancer
    space = {"lgbm": {"n_estimators": {"low": 20000, "high": 20000, "default": 20000}, "learning_rate": {"default": 0.01}}}
    started = time.monotonic()
    with pytest.raises(AutoMLError, match=r"No trial finished inside the time budget, so no model was measured against "
                                          r"the constraints \(model_mb <= 5\); the deadline cut trial 0 \(lgbm\)"):
        AutoML(time_budget=3, estimators=["lgbm"], search_space=space, tracking=False, seed=0, n_jobs=1,
               constraints={"model_mb": 5}).fit(X, y)
    assert time.monotonic() - started < 3 * 1.1 + 1  # as the same job without limits (tests/test_api.py)
