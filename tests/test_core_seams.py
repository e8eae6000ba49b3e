"""The seams every task kind uses: the task plug-in, per-fold features, kept out-of-fold predictions, one trial codec."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from mlflow import MlflowClient
from sklearn.metrics import roc_auc_score

from automl import AutoML, InputError, TaskSpec
from automl.data import TabularPreprocessor
from automl.fitdata import FitData, prepare_fold
from automl.oof import OutOfFold, OutOfFoldStore
from automl.records import from_run, leaderboard, maximizes
from automl.tasks import TASKS, get_task
from automl.tasks.tabular import BinaryTask
from automl.tracking.mlflow_reader import intermediate_of, job_run, trial_runs_of


class TargetMeanEncoder(TabularPreprocessor):
    """Replaces column "id" by the mean target of its rows: honest when fitted on training rows only."""

    def fit(self, X: pd.DataFrame, y: Any = None) -> "TargetMeanEncoder":
        super().fit(X.drop(columns="id"))
        self.means_ = pd.Series(np.asarray(y, dtype=float), index=X["id"].to_numpy()).groupby(level=0).mean()
        self.prior_ = float(np.mean(y))
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        out = super().transform(X)
        out["id_mean"] = pd.Series(X["id"].to_numpy()).map(self.means_).fillna(self.prior_).to_numpy()
        return out


class TargetEncodedBinary(BinaryTask):
    kind = "binary_target_encoded"

    def make_preprocessor(self, spec: TaskSpec) -> TargetMeanEncoder:
        return TargetMeanEncoder()


@pytest.fixture
def leaky_data() -> tuple[pd.DataFrame, pd.Series]:
    """A target of coin flips; "id" names each row, so its target mean *is* the row's target."""
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"id": [f"row{i}" for i in range(n)], "noise": rng.normal(size=n)})
    return X, pd.Series(rng.integers(0, 2, n), name="y")


def test_a_target_dependent_transform_is_fitted_per_fold(monkeypatch: pytest.MonkeyPatch,
                                                         leaky_data: tuple[pd.DataFrame, pd.Series]) -> None:
    monkeypatch.setitem(TASKS._entries, TargetEncodedBinary.kind, TargetEncodedBinary)
    X, y = leaky_data
    m = AutoML(task=TargetEncodedBinary.kind, estimators=["lgbm"], eval_method="cv", n_splits=5, time_budget=None,
               max_trials=3, early_stop=None, tracking=False, n_jobs=1).fit(X, y)
    # The same folds with the transform fitted once on all rows: the validation rows' own targets leak in.
    leaky = TargetMeanEncoder().fit(X, y).transform(X)
    scores = []
    for trial_rows, val_rows in get_task("binary").splits(FitData(X, y.to_numpy()), "cv", TaskSpec("binary"), seed=0):
        model = LGBMClassifier(n_estimators=20, verbose=-1).fit(leaky.iloc[trial_rows], y.iloc[trial_rows])
        scores.append(roc_auc_score(y.iloc[val_rows], model.predict_proba(leaky.iloc[val_rows])[:, 1]))
    assert np.mean(scores) > 0.95  # the leak is there to exploit
    assert m.best_score_ < 0.7  # and the job's validation does not benefit from it: coin flips stay coin flips


def test_category_vocabularies_are_learned_per_fold() -> None:
    X = pd.DataFrame({"colour": ["red", "blue"] * 20 + ["green"]})
    y = pd.Series([0, 1] * 20 + [1])
    fold = prepare_fold(get_task("binary"), TaskSpec("binary"), FitData(X, y.to_numpy()), 0, (np.arange(40), np.arange(40, 41)), 2)
    assert list(fold.X_train["colour"].cat.categories) == ["blue", "red"]
    assert fold.X_val["colour"].isna().all()  # "green" only occurs in the validation row


def test_every_finished_trial_keeps_its_validation_predictions(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = AutoML(estimators=["lgbm", "lr"], eval_method="holdout", time_budget=None, max_trials=6, early_stop=None,
               tracking=False, n_jobs=1).fit(X, y)
    ok = [t for t in m.study_.trials if t.status == "ok"]
    assert len(m.oof_) == len(ok) == 6
    assert [trial_id for trial_id, _ in m.oof_.best()] == [t.trial_id for t in sorted(ok, key=lambda t: t.loss)]
    for trial in ok:  # a holdout split: the kept predictions score exactly as the trial did
        kept = m.oof_.get(trial.trial_id)
        assert kept.values.shape == (len(kept.rows), 2) and len(kept.rows) < len(X)
        assert roc_auc_score(y.to_numpy()[kept.rows], kept.values[:, 1]) == pytest.approx(trial.score, abs=1e-6)


def test_cross_validated_predictions_cover_every_row_once(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    m = AutoML(estimators=["lr"], eval_method="cv", n_splits=4, time_budget=None, max_trials=2, early_stop=None,
               tracking=False, n_jobs=1).fit(X, y)
    kept = m.oof_.get(m.best_trial_.trial_id)
    assert kept.rows.tolist() == list(range(len(X)))
    assert np.allclose(kept.values.sum(axis=1), 1.0, atol=1e-5)


def test_the_store_keeps_the_best_and_respects_its_memory_bound() -> None:
    store = OutOfFoldStore(keep=3)
    small = OutOfFold(np.arange(10), np.zeros(10, dtype=np.float32))
    for trial_id, loss in enumerate([0.5, 0.2, 0.9, 0.1, 0.4, math.nan]):
        store.offer(trial_id, loss, small)
    assert [t for t, _ in store.best()] == [3, 1, 4] and store.threshold() == 0.4
    assert not store.offer(9, 0.45, small)  # worse than every kept trial
    big = OutOfFold(np.arange(1000), np.zeros(1000, dtype=np.float32))
    bounded = OutOfFoldStore(keep=20, max_bytes=2 * big.nbytes)
    for trial_id in range(5):
        bounded.offer(trial_id, float(trial_id), big)
    assert len(bounded) == 2 and [t for t, _ in bounded.best()] == [0, 1]


def test_saved_models_do_not_carry_the_kept_predictions(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import pickle

    X, y = breast_cancer
    m = AutoML(estimators=["lr"], time_budget=None, max_trials=2, tracking=False, n_jobs=1).fit(X, y)
    assert len(m.oof_) > 0
    assert len(pickle.loads(pickle.dumps(m)).oof_) == 0


def test_score_is_greater_is_better_for_every_metric(diabetes: tuple[pd.DataFrame, pd.Series],
                                                     breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """scikit-learn's contract: GridSearchCV over an AutoML picks the highest score, so losses come back negated."""
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    X, y = diabetes
    m = AutoML(task="regression", metric="rmse", estimators=["lr"], time_budget=None, max_trials=1, tracking=False).fit(X, y)
    assert m.score(X, y) == pytest.approx(-np.sqrt(mean_squared_error(y, m.predict(X))))
    Xb, yb = breast_cancer
    c = AutoML(metric="log_loss", estimators=["lr"], time_budget=None, max_trials=1, tracking=False).fit(Xb, yb)
    assert c.score(Xb, yb) == pytest.approx(-log_loss(yb, c.predict_proba(Xb)))
    a = AutoML(metric="roc_auc", estimators=["lr"], time_budget=None, max_trials=1, tracking=False).fit(Xb, yb)
    assert a.score(Xb, yb) == pytest.approx(roc_auc_score(yb, a.predict_proba(Xb)[:, 1]))


def test_a_changed_holdout_fraction_is_another_job(breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str,
                                                   experiment: str) -> None:
    X, y = breast_cancer
    first = AutoML(task=TaskSpec("classification", eval_method="holdout", holdout_fraction=0.2), estimators=["lr"],
                   time_budget=None, max_trials=2, tracking_uri=tracking_uri, experiment=experiment, n_jobs=1).fit(X, y)
    with pytest.raises(InputError, match="was a job with splits_fingerprint="):
        AutoML(task=TaskSpec("classification", eval_method="holdout", holdout_fraction=0.3), estimators=["lr"],
               time_budget=None, max_trials=3, tracking_uri=tracking_uri, experiment=experiment, n_jobs=1,
               resume_from=first.mlflow_run_id_).fit(X, y)


def test_trials_read_back_from_mlflow_are_the_trials_written(breast_cancer: tuple[pd.DataFrame, pd.Series],
                                                             tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    m = AutoML(estimators=["lgbm", "lr"], eval_method="holdout", time_budget=None, max_trials=8, tracking_uri=tracking_uri,
               experiment=experiment, n_jobs=1).fit(X, y)
    client, parent = job_run(m.mlflow_run_id_, tracking_uri)
    assert maximizes(parent.data.params)
    back = sorted((from_run(r, intermediate_of(client, r), True) for r in trial_runs_of(client, parent)),
                  key=lambda t: t.trial_id)
    for written, read in zip(m.study_.trials, back, strict=True):
        assert (read.trial_id, read.estimator, read.status, read.error) == (written.trial_id, written.estimator,
                                                                           written.status, written.error)
        assert read.config == pytest.approx(written.config)
        assert (read.score is None and written.score is None) or read.score == pytest.approx(written.score)
        assert [step for step, _ in read.intermediate] == [step for step, _ in written.intermediate]
        assert [v for _, v in read.intermediate] == pytest.approx([v for _, v in written.intermediate])
    columns = ["trial_id", "estimator", "status"]
    trials = m.leaderboard().query("trial_id >= 0").reset_index(drop=True)  # a shipped ensemble is a row of its own
    pd.testing.assert_frame_equal(leaderboard(back)[columns], trials[columns])


def _holdout_problem(X: pd.DataFrame, y: pd.Series, families: list[str]) -> Any:
    from automl.problem import build_problem
    from automl.task import make_task

    return build_problem(make_task("classification", eval_method="holdout"), X, y, families, None, None, 0)


def test_the_refit_of_a_gpu_trial_keeps_the_gpu_learners_bin_cap(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """The shipped model is the configuration that was scored: a GPU trial's max_bin <= 255 holds on the CPU refit."""
    from automl.study import Trial

    X, y = breast_cancer
    problem = _holdout_problem(X, y, ["lgbm"])
    objective = problem.objective(n_jobs=1)
    config = {**problem.space.spaces["lgbm"].default_config(), "log_max_bin": 10}
    model, _ = objective.fit_all_rows(Trial(0, "lgbm", config, 0, device="cuda"), None)
    assert model.get_params()["max_bin"] == 255
    model, _ = objective.fit_all_rows(Trial(1, "lgbm", config, 0, device="cpu"), None)
    assert model.get_params()["max_bin"] == 1023


def test_a_trial_cut_by_the_deadline_is_not_called_pruned(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import time

    from automl.records import to_run
    from automl.study import Trial

    X, y = breast_cancer
    problem = _holdout_problem(X, y, ["lgbm"])
    trial = Trial(0, "lgbm", {**problem.space.spaces["lgbm"].default_config(), "n_estimators": 2000}, 0)
    result = problem.objective(n_jobs=1)(trial, time.monotonic())
    assert (result.status, result.error) == ("timeout", "stopped at the time budget")
    trial.status = result.status
    assert to_run(trial, "tpe", "parent").status == "FINISHED"  # KILLED is for abandoned jobs
    trial.status = "pruned"
    assert to_run(trial, "tpe", "parent").status == "FINISHED"


def test_a_replayed_best_trial_is_refitted_only_if_it_fits_the_time_left(
        breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    import time

    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.study import OK, Suggestion, TrialResult
    from automl.tracking import Tracker
    from automl.tuning import JobRunner, JobSettings

    X, y = breast_cancer
    problem = _holdout_problem(X, y, ["lr"])
    settings = JobSettings("random", "none", "inprocess", BackendOptions(), 1)
    runner = JobRunner(problem, settings, Budget(5.0), Tracker(), [])
    config = problem.space.spaces["lr"].default_config()
    for loss, fit_s in ((-0.99, 600.0), (-0.98, 0.01)):  # the best was recorded as taking ten minutes to fit
        trial = runner.study.start(Suggestion("lr", config))
        runner.study.finish(trial, TrialResult(OK, -loss, loss, fit_time_s=fit_s, duration_s=fit_s))
        trial.replayed = True
    started = time.monotonic()
    trial, model, refit, fold = runner.refit()
    assert time.monotonic() - started < 5.0
    assert trial.trial_id == 1 and "the best trial's refit did not fit the time left" in refit and fold is None
    assert model.predict(problem.all_rows.X).shape == (len(X),)


@pytest.mark.parametrize("family", ["xgboost", "rf"])
def test_a_shipped_fold_model_predicts_through_its_own_fold_s_transform(family: str) -> None:
    """A category seen only in the validation rows is one the fold model never knew: shipped because its refit did
    not fit the time left, it keeps the transform of its fold (with the job's, XGBoost refused every prediction and
    a forest read each later category as the one before it)."""
    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.study import Suggestion
    from automl.tracking import Tracker
    from automl.tuning import JobRunner, JobSettings

    rng = np.random.default_rng(0)
    shops = np.array([f"s{i:02d}" for i in range(30)])
    X = pd.DataFrame({"shop": rng.choice(shops, 600), "x": rng.normal(size=600)})
    y = pd.Series((np.isin(X["shop"], shops[::3]) ^ (X["x"] > 1.0)).astype(int))
    (_, val), = _holdout_problem(X, y, [family]).splits
    X.loc[val[0], "shop"] = "s00a"  # sorts among the others: every later category's code moves by one
    problem = _holdout_problem(X, y, [family])
    (fold,) = problem.objective(n_jobs=1).folds
    assert "s00a" in problem.preprocessor.categories_["shop"] and "s00a" not in fold.preprocessor.categories_["shop"]
    runner = JobRunner(problem, JobSettings("random", "none", "inprocess", BackendOptions(), 1), Budget(60.0),
                       Tracker(), [])
    trial = runner.study.start(Suggestion(family, problem.space.spaces[family].default_config()))
    runner.study.finish(trial, runner.objective(trial, None))
    trial.fit_time_s = 600.0  # its refit is expected not to fit the time left: the fold model ships
    _, model, refit, fold_index = runner.refit()
    assert refit == "validation-fold model" and fold_index == -1
    shipped = runner._result(trial, model, refit, {}, None, fold=fold_index).model
    expected = model.predict_proba(fold.preprocessor.transform(X))
    assert np.allclose(shipped.predict_proba(X), expected)


def test_a_model_too_slow_to_measure_in_the_time_left_ships_as_its_measured_fold_model(
        breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """With constraints the job measures the model it ships: a refit whose measuring would not fit the time left is
    not started (a 20 s job measuring a 260 MB forest ended at 22 s); the fold model ships with its trial's figures."""
    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.constraints import Constraints
    from automl.study import Suggestion
    from automl.tracking import Tracker
    from automl.tuning import JobRunner, JobSettings

    X, y = breast_cancer
    problem = _holdout_problem(X, y, ["lr"])
    settings = JobSettings("random", "none", "inprocess", BackendOptions(), 1, constraints=Constraints(1e9))
    runner = JobRunner(problem, settings, Budget(10.0), Tracker(), [])
    trial = runner.study.start(Suggestion("lr", problem.space.spaces["lr"].default_config()))
    runner.study.finish(trial, runner.objective(trial, None))
    _, _, refit, _ = runner.refit()
    assert refit == "all rows"  # a fast model: refit and measured again
    trial.metrics["predict_ms_single_row"] = 3000.0  # six timed single-row predictions: more than the time left
    _, model, refit, fold = runner.refit()
    assert refit == "validation-fold model" and fold == -1
    shipped = runner._result(trial, model, refit, {}, None, fold=fold)
    assert shipped.measured["shipped_predict_ms_single_row"] == 3000.0  # its trial's figure, not measured again


def test_the_search_reserves_the_refits_of_the_members_greedy_selection_would_choose(
        breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """The best trial's refit is always reserved; beside it the refits of the trials greedy selection adds to it now
    (not a kept trial it would leave out, however costly), up to a fifth of the budget, and none for a member whose
    refit alone exceeds that (the ensemble phase leaves out members whose refits do not fit, so more only ended
    searches early)."""
    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.study import OK, Suggestion, TrialResult
    from automl.tracking import Tracker
    from automl.tuning import REFIT_MARGIN, JobRunner, JobSettings

    X, y = breast_cancer
    problem = _holdout_problem(X, y, ["lr"])
    runner = JobRunner(problem, JobSettings("random", "none", "inprocess", BackendOptions(), 1), Budget(20.0), Tracker(), [])
    labels = problem.data.y
    rows = np.concatenate([np.flatnonzero(labels == 0)[:6], np.flatnonzero(labels == 1)[:6]])
    truth = labels[rows]

    def wrong_on(wrong: slice) -> np.ndarray:
        """Class probabilities near the truth on every row but the ``wrong`` ones, where they lean the other way."""
        p1 = np.where(truth == 1, 0.9, 0.1)
        p1[wrong] = np.where(truth[wrong] == 1, 0.4, 0.6)
        return np.column_stack([1 - p1, p1])

    best, complement = wrong_on(slice(0, 12, 4)), wrong_on(slice(1, 12, 4))  # wrong on other rows: they average right
    for loss, fit_s, values in ((-0.99, 0.5, best), (-0.98, 30.0, best.copy()), (-0.97, 30.0, complement)):
        trial = runner.study.start(Suggestion("lr", problem.space.spaces["lr"].default_config()))
        runner.study.finish(trial, TrialResult(OK, -loss, loss, fit_time_s=fit_s, oof=OutOfFold(rows, values)))
    complementary = runner.study.trials[2]
    assert runner.ensembles.likely_members(fallback=5) == [0, 2]  # a copy of the best adds nothing
    runner.update_reserve()
    best_refit = runner.refit_estimate(runner.study.best)
    assert best_refit == pytest.approx(0.5 * len(X) / runner.objective.train_rows * REFIT_MARGIN)
    # the complementary trial's refit alone (30 s) exceeds what the reserve may hold for members (a fifth of 20 s):
    # the ensemble phase would leave it out, so it holds no reserve
    assert runner.budget.reserve_s == pytest.approx(runner.tracker.finish_reserve_s + best_refit)
    runner.budget.time_budget = 1000.0  # a long budget covers every likely member's refit, and only theirs
    runner.update_reserve()
    members = best_refit + runner.refit_estimate(complementary)
    assert runner.budget.reserve_s == pytest.approx(runner.tracker.finish_reserve_s + members)  # not copy_of_best's
    runner.ensembles.choice = True  # ensemble=True: shipped whenever it has two members (12 rows judge no gain)
    assert sorted(runner.ensembles.plan(time_left=1000.0).weights) == [0, 2]
    # members whose own refit does not fit the time left are out before any selection: no ensemble is left
    assert runner.ensembles.plan(time_left=2 * best_refit) is None
    # on Ray with two workers (here before its search) the members refit side by side: the longer refit is reserved
    from automl.backends.ray_backend import RayBackend

    runner.backend = runner.ensembles.backend = RayBackend(BackendOptions(n_concurrent_trials=2))
    runner.update_reserve()
    assert runner.budget.reserve_s == pytest.approx(
        runner.tracker.finish_reserve_s + max(best_refit, runner.refit_estimate(complementary)))


def test_parallel_seconds_puts_each_next_longest_job_on_the_least_loaded_worker() -> None:
    from automl.backends.base import parallel_seconds

    assert parallel_seconds([1.0, 2.0, 3.0, 2.0], 2) == 4.0  # 3+1 and 2+2
    assert parallel_seconds([5.0, 1.0, 1.0], 2) == 5.0
    assert parallel_seconds([1.0, 2.0], 1) == 3.0 and parallel_seconds([], 3) == 0.0


@pytest.mark.parametrize("family", ["rf", "extra_trees"])
def test_a_forests_size_is_estimated_near_its_pickle_and_recording_it_is_reserved(family: str) -> None:
    """A forest's pickle is mostly its trees' nodes: the estimate (no pickling) is within 25% of it; a tracked job
    reserves the time recording the refit model takes, grown with the rows (an 808 MB pair of forests took 27 s)."""
    import pickle

    from automl.backends import BackendOptions
    from automl.budget import Budget
    from automl.study import Suggestion
    from automl.tracking import Tracker
    from automl.tracking.mlflow_tracker import MODEL_WRITE_MB_PER_S, MlflowTracker
    from automl.tuning import REFIT_MARGIN, JobRunner, JobSettings

    from automl.problem import build_problem
    from automl.task import make_task

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(4000, 8))).add_prefix("x")
    y = pd.Series(X.x0 * 3 + np.sin(X.x1 * 2) + rng.normal(size=4000))
    problem = build_problem(make_task("regression", eval_method="holdout"), X, y, [family], None, None, 0)
    objective = problem.objective(n_jobs=1)
    trial = Suggestion(family, {**problem.space.spaces[family].default_config(), "n_estimators": 40, "max_leaves": 512})
    runner = JobRunner(problem, JobSettings("random", "none", "inprocess", BackendOptions(), 1), Budget(20.0), Tracker(), [])
    started = runner.study.start(trial)
    result = objective(started, None)
    estimate = result.metrics["model_mb_estimate"]
    assert estimate == pytest.approx(len(pickle.dumps(result.model)) / 1e6, rel=0.25)
    runner.study.finish(started, result)
    assert runner.record_estimate(started) == 0.0  # nothing is recorded without tracking
    runner.tracker = MlflowTracker("sqlite:///unused.db")  # not started: only its pace
    rows_ratio = len(X) / runner.objective.train_rows
    assert runner.record_estimate(started) == pytest.approx(estimate * rows_ratio / MODEL_WRITE_MB_PER_S * REFIT_MARGIN)
    assert runner.ship_estimate(started) == pytest.approx(runner.refit_estimate(started) + runner.record_estimate(started))
