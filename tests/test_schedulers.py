"""The contract every registered early-stopping scheduler keeps, and early stopping in real jobs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from automl import AutoML, InputError
from automl.schedulers import SCHEDULERS, make_scheduler, resolve_early_stop
from automl.strategies import STRATEGIES
from automl.study import FAILED, OK, PRUNED

STOPPING = [n for n in SCHEDULERS.names() if n != "none"]


def curve(level: float, steps: int = 5) -> list[float]:
    """A learning curve that flattens out at ``level``."""
    return [level + 1.0 / (step + 1) for step in range(steps)]


def play(name: str, levels: list[float], steps: int = 5, families: list[str] | None = None) -> list[int | None]:
    """Run trials one after another; return the step at which each was stopped (None: ran to the end)."""
    scheduler = make_scheduler(name)
    stopped_at: list[int | None] = []
    for trial_id, level in enumerate(levels):
        scheduler.start(trial_id, families[trial_id] if families else "")
        stop = None
        for step, value in enumerate(curve(level, steps), start=1):
            if scheduler.report(trial_id, step, value):
                stop = step
                break
        scheduler.finish(trial_id, PRUNED if stop else OK, None if stop else curve(level, steps)[-1])
        stopped_at.append(stop)
    return stopped_at


@pytest.mark.parametrize("name", STOPPING)
def test_clearly_bad_trials_stop_early_and_good_ones_run_to_the_end(name: str) -> None:
    stopped = play(name, [1.0, 1.1, 0.9, 1.05, 0.95, 5.0, 0.5, 6.0])
    bad = [stopped[5], stopped[7]]
    if name == "hyperband":  # its brackets hedge: the most conservative one lets every trial finish
        assert any(step is not None and step < 5 for step in bad)
    else:
        assert all(step is not None and step < 5 for step in bad)  # much worse trials are cut short
    assert stopped[6] is None  # the best trial is never stopped


@pytest.mark.parametrize("name", STOPPING)
def test_trials_are_compared_within_their_family(name: str) -> None:
    levels = [0.5, 0.45, 0.55, 0.4, 0.6, 5.0, 5.5, 4.5, 6.0]
    families = ["lgbm"] * 5 + ["lr"] * 4
    alone = play(name, levels, families=families)
    assert alone[5] is None  # the first lr trial meets no lr rung yet: much worse than lgbm, it still runs to the end
    assert alone[7] is None  # the best lr trial runs to the end
    assert alone[8] is not None  # a bad lr trial is stopped by the lr trials before it
    assert play(name, levels)[5] is not None  # one ledger for all: the lgbm trials would have stopped it


@pytest.mark.parametrize("name", SCHEDULERS.names())
def test_nan_reports_and_failed_trials_are_harmless(name: str) -> None:
    scheduler = make_scheduler(name)
    scheduler.start(0)
    assert scheduler.report(0, 1, math.nan) is False
    scheduler.finish(0, FAILED, None)
    scheduler.start(1)
    assert scheduler.report(1, 1, 0.5) is False
    scheduler.finish(1, OK, math.inf)


def test_none_never_stops() -> None:
    assert play("none", [1.0, 9.0, 9.0, 9.0, 9.0, 9.0]) == [None] * 6


def test_auto_is_asha_and_none_turns_it_off() -> None:
    assert resolve_early_stop("auto") == "asha"
    assert resolve_early_stop(None) == "none" and resolve_early_stop("none") == "none"
    with pytest.raises(InputError, match='Did you mean "median"'):
        resolve_early_stop("medain")


def test_unknown_early_stop_name() -> None:
    with pytest.raises(InputError, match='Unknown early-stopping rule "bohb" for early_stop'):
        AutoML(early_stop="bohb", tracking=False).fit(pd.DataFrame({"a": [1, 2, 3, 4]}), [0, 1, 0, 1])


@pytest.mark.parametrize(("early_stop", "eval_method"), [("median", "cv"), ("asha", "cv"), ("median", "holdout"), ("asha", "holdout")])
def test_jobs_record_pruned_trials(early_stop: str, eval_method: str, breast_cancer: tuple[pd.DataFrame, pd.Series],
                                   tracking_uri: str, experiment: str) -> None:
    X, y = breast_cancer
    m = AutoML(time_budget=None, max_trials=25, seed=1, n_jobs=1, early_stop=early_stop, eval_method=eval_method,
               estimators=["lgbm", "xgboost"], strategy="random", tracking_uri=tracking_uri,
               experiment=f"{experiment}-{early_stop}-{eval_method}").fit(X, y)
    board = m.leaderboard()
    pruned = board[board.status == "pruned"]
    assert len(pruned) >= 1, board[["estimator", "status", "score", "last_step"]]
    assert pruned.error.str.contains(f"stopped by {early_stop}").all()
    assert pruned.last_step.notna().all() and pruned.last_value.notna().all()
    if eval_method == "holdout":
        assert set(pruned.last_step) <= {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048}
    else:
        assert set(pruned.last_step) <= {1, 2, 3, 4}
    assert board.iloc[0].status == "ok" and m.best_score_ > 0.9
    runs = MlflowClient(tracking_uri).search_runs(
        [MlflowClient(tracking_uri).get_experiment_by_name(f"{experiment}-{early_stop}-{eval_method}").experiment_id],
        filter_string="tags.`automl.status` = 'pruned'",
    )
    assert len(runs) == len(pruned)
    history = MlflowClient(tracking_uri).get_metric_history(runs[0].info.run_id, "intermediate_loss")
    assert [h.step for h in history] == sorted(h.step for h in history) and history[-1].step == runs[0].data.metrics["last_step"]


@pytest.mark.parametrize("early_stop", STOPPING)
@pytest.mark.parametrize("strategy", STRATEGIES.names())
def test_early_stopping_works_with_every_strategy(strategy: str, early_stop: str,
                                                  breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    """Whatever strategy proposes the trials, the rule cuts some short after a fold and keeps the running means it saw."""
    X, y = breast_cancer
    folds = 5
    m = AutoML(time_budget=None, max_trials=12, seed=0, n_jobs=1, early_stop=early_stop, eval_method="cv", n_splits=folds,
               estimators=["lgbm", "lr"], strategy=strategy, tracking=False).fit(X, y)
    trials = m.study_.trials
    assert len(trials) == 12 and np.isfinite(m.best_score_) and m.study_.best.status == OK
    pruned = [t for t in trials if t.status == PRUNED]
    assert pruned, [(t.estimator, t.status, t.error) for t in trials]
    for t in pruned:
        assert t.last_step is not None and 1 <= t.last_step < folds
        assert t.error == f"stopped by {early_stop} after fold {t.last_step}"
        assert [step for step, _ in t.intermediate] == list(range(1, t.last_step + 1))  # one report per fold it ran
        assert all(math.isfinite(value) for _, value in t.intermediate) and t.last_value == t.intermediate[-1][1]
    assert all(t.last_step == folds - 1 for t in trials if t.status == OK)  # finished trials reported every fold but the last
    board = m.leaderboard()
    stopped = board[board.status == PRUNED].sort_values("trial_id")
    assert list(stopped.trial_id) == [t.trial_id for t in pruned] and list(stopped.last_step) == [t.last_step for t in pruned]
