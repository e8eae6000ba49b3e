"""A ranking job on Ray workers: the fold's query ids travel with the data, round reports reach the shared ASHA."""

from __future__ import annotations

import numpy as np

from automl import AutoML
from automl.metrics import lookup
from tests.test_rank import ranking, split_by_query  # noqa: F401 - the fixture


def test_rankers_tune_on_two_ray_workers_and_are_pruned_there(ranking) -> None:  # noqa: F811
    X, y, groups = ranking
    train, test = split_by_query(groups)
    m = AutoML(task="rank", time_budget=None, max_trials=6, seed=0, tracking=False, backend="ray",
               n_concurrent_trials=2, resources_per_trial={"cpu": 1}, estimators=["lgbm", "xgboost"],
               eval_method="holdout", early_stop="asha").fit(X[train], y[train], groups=groups[train])
    statuses = [t.status for t in m.study_.trials]
    assert statuses.count("ok") >= 1 and "pruned" in statuses and "failed" not in statuses
    assert all(t.worker and t.intermediate for t in m.study_.trials)  # ran on a worker, reported its rounds
    scores = m.predict(X[test])
    assert m.score(X[test], y[test], groups=groups[test]) == lookup("ndcg@10").fn(y[test].to_numpy(), scores, groups[test])
    assert np.isfinite(m.best_score_)
