"""Multi-objective jobs: score and latency searched together, the Pareto front, and selecting another member."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from automl import AutoML, InputError
from automl.space import JointSpace, load_builtin
from automl.strategies import STRATEGIES
from automl.study import OK, Study
from tests.test_cli import cli

OBJECTIVES = ["score", "predict_ms_per_row"]


@pytest.fixture(scope="module")
def tracked_job(friedman: tuple[pd.DataFrame, pd.Series], tmp_path_factory: pytest.TempPathFactory) -> tuple[AutoML, str]:
    """One multi-objective job on friedman1 (forests score best, the linear model answers fastest), in MLflow."""
    X, y = friedman
    uri = f"sqlite:///{tmp_path_factory.mktemp('pareto') / 'mlflow.db'}"
    m = AutoML(task="regression", time_budget=None, max_trials=14, estimators=["rf", "lr", "lgbm"], seed=0, n_jobs=1,
               objectives=OBJECTIVES, ensemble=False, eval_method="holdout", tracking_uri=uri, experiment="pareto")
    return m.fit(X, y), uri


def test_the_front_holds_the_trade_offs_and_the_job_ships_the_best_score(tracked_job: tuple[AutoML, str]) -> None:
    m, _ = tracked_job
    assert m.strategy_ == "tpe"  # "auto" is multi-objective TPE when there are objectives
    front = m.pareto_front()
    assert list(front.columns[:4]) == ["trial_id", "estimator", "score", "predict_ms_per_row"] and len(front) >= 2
    assert front.score.is_monotonic_decreasing and front.predict_ms_per_row.is_monotonic_decreasing  # a trade-off
    assert front.trial_id.iloc[0] == m.best_trial_.trial_id  # the best score is always on the front
    board = m.leaderboard()
    ok = board[board.status == OK]
    for row in ok[~ok.pareto].itertuples():  # every other ok trial is beaten on both by a front member
        assert ((front.score >= row.score) & (front.predict_ms_per_row <= row.predict_ms_per_row)).any(), row


def test_a_job_whose_trials_were_never_measured_has_an_empty_front_with_its_columns(
        tracked_job: tuple[AutoML, str]) -> None:
    m = pickle.loads(pickle.dumps(tracked_job[0]))
    for trial in m.study_.trials:  # as when a short budget cuts every trial before its measurement (CI under load)
        trial.metrics.pop("predict_ms_per_row", None)
    front = m.pareto_front()
    assert front.empty and list(front.columns[:4]) == ["trial_id", "estimator", "score", "predict_ms_per_row"]


def test_select_ships_another_front_member(tracked_job: tuple[AutoML, str], friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    m, _ = tracked_job
    X, _y = friedman
    saved = pickle.loads(pickle.dumps(m))  # a model file keeps no training data
    front = m.pareto_front()
    fastest = int(front.trial_id.iloc[-1])
    m.select(fastest)
    assert m.best_trial_.trial_id == fastest and m.best_estimator_ == front.estimator.iloc[-1]
    assert m.refit_ == "all rows (selected from the Pareto front)" and m.predict(X).shape == (len(X),)
    assert m.measured_["shipped_predict_ms_per_row"] > 0
    with pytest.raises(InputError, match=r"trial 10000 is not on the Pareto front; pass one of \["):
        m.select(10000)
    with pytest.raises(InputError, match="select\\(\\) needs the fitted job in memory"):
        saved.select(fastest)


def test_mlflow_records_the_front_and_the_report_draws_it(tracked_job: tuple[AutoML, str], tmp_path: Path) -> None:
    m, uri = tracked_job
    client = MlflowClient(uri)
    run = client.get_run(m.mlflow_run_id_)
    assert run.data.params["objectives"] == "score,predict_ms_per_row"
    front = pd.read_csv(client.download_artifacts(run.info.run_id, "pareto_front.csv", str(tmp_path)))
    assert run.data.metrics["pareto_front_size"] == len(front) >= 2
    report = Path(client.download_artifacts(run.info.run_id, "report.html", str(tmp_path))).read_text()
    assert "Pareto front" in report and f"({len(front)} trials on the front)" in report


def test_tpe_is_told_every_objective() -> None:
    space = JointSpace({"lr": load_builtin("lr")})
    strategy = STRATEGIES.get("tpe")(space, 0, ["lr"], objectives=("model_mb",))
    suggestion = strategy.ask()
    trial = Study(0).start(suggestion)
    trial.status, trial.score, trial.loss, trial.metrics = OK, 0.5, -0.5, {"model_mb": 3.0}
    strategy.tell(suggestion, trial)
    assert strategy.study.directions == [strategy.study.directions[0]] * 2 and strategy.study.trials[0].values == [-0.5, 3.0]


@pytest.mark.parametrize("objectives, strategy, message", [
    (["predict_ms_per_row"], "auto", "objectives=['predict_ms_per_row'] is invalid; pass a list that starts with \"score\""),
    (["score", "latency"], "auto", "objectives names 'latency', which is not an objective; choose from: score, "
                                   "predict_ms_per_row, model_mb."),
    (["score", "model_mb", "model_mb"], "auto", "objectives=['score', 'model_mb', 'model_mb'] names an objective twice"),
    (OBJECTIVES, "cfo", "objectives=['score', 'predict_ms_per_row'] need a strategy that searches several objectives: "
                        "'tpe', 'random', 'grid'"),
])
def test_bad_objectives_are_one_sentence(objectives: list[str], strategy: str, message: str,
                                         friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = friedman
    with pytest.raises(InputError) as error:
        AutoML(task="regression", objectives=objectives, strategy=strategy, tracking=False).fit(X, y)
    assert str(error.value).startswith(message)


def test_the_cli_takes_objectives(tmp_path: Path, friedman: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = friedman
    X.assign(y=y).to_csv(tmp_path / "train.csv", index=False)
    shown = cli("tune", "--data", "train.csv", "--target", "y", "--task", "regression", "--objectives",
                "score,model_mb", "--dry-run", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "tpe (objectives score, model_mb: multi-objective TPE)" in " ".join(shown.stdout.split())
