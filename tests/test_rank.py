"""Learning to rank: metrics, query-aware splits, rankers on real data, the Python contract and every bad input."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from automl import AutoML, InputError, TaskSpec
from automl.estimators import BuildContext, get_adapter
from automl.fitdata import FitData
from automl.metrics import get_metric, lookup
from automl.sparse import to_csr
from automl.svmlight import read_svmlight
from automl.tasks import get_task
from tests.conftest import REPO

RANK_DATA = REPO / "examples" / "data" / "rank.train"  # 60 queries of the shared ranking data (LightGBM's example)


@pytest.fixture(scope="module")
def ranking() -> tuple[pd.DataFrame, pd.Series, np.ndarray]:
    """The example slice with its rows shuffled: queries are not contiguous, as a user's rows need not be."""
    frame = read_svmlight(RANK_DATA).sample(frac=1.0, random_state=0).reset_index(drop=True)
    return frame.drop(columns=["label", "qid"]), frame["label"].astype(int), frame["qid"].to_numpy()


def split_by_query(groups: np.ndarray, test_share: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    queries = np.unique(groups)
    test = np.isin(groups, queries[: int(len(queries) * test_share)])
    return ~test, test


def fit_rank(X: pd.DataFrame, y: pd.Series, groups: np.ndarray, **params: object) -> AutoML:
    settings = {"task": "rank", "time_budget": None, "max_trials": 3, "seed": 0, "tracking": False, "n_jobs": 1,
                "early_stop": None}
    settings.update(params)
    return AutoML(**settings).fit(X, y, groups=groups)  # type: ignore[arg-type]


# -- metrics ---------------------------------------------------------------------------------------------------
HAND = pd.DataFrame({
    "query": ["a", "a", "a", "b", "b", "c", "d", "d"],
    "label": [2, 0, 1, 1, 1, 3, 0, 1],
    "score": [0.2, 0.9, 0.5, 0.1, 0.7, 0.4, 0.3, 0.3],  # d is a tie: ordered worst first
})


def hand_value(name: str) -> float:
    """Worked by hand: query a is ranked (label 0, 1, 2), d (0, 1); b (all labels equal) and c (one row) are left out."""
    log3 = math.log2(3)
    values = {
        "ndcg": [(1 / log3 + 3 / 2) / (3 + 1 / log3), (1 / log3) / 1],
        "ndcg@2": [(1 / log3) / (3 + 1 / log3), (1 / log3) / 1],
        "map": [(1 / 2 + 2 / 3) / 2, 1 / 2],
        "map@2": [(1 / 2) / 2, 1 / 2],
        "mrr": [1 / 2, 1 / 2],
        "mrr@1": [0.0, 0.0],
        "precision@2": [1 / 2, 1 / 2],
        "precision@5": [2 / 5, 1 / 5],
    }[name]
    return float(np.mean(values))


@pytest.mark.parametrize("name", ["ndcg", "ndcg@2", "map", "map@2", "mrr", "mrr@1", "precision@2", "precision@5"])
def test_metrics_match_a_hand_computed_example(name: str) -> None:
    metric = lookup(name)
    assert metric.greater_is_better and metric.name == name
    value = metric.fn(HAND.label.to_numpy(), HAND.score.to_numpy(), HAND["query"].to_numpy())
    assert value == pytest.approx(hand_value(name), abs=1e-12)


def test_ndcg_matches_scikit_learn_on_a_query_with_exponential_gains() -> None:
    rng = np.random.default_rng(1)
    labels, scores = rng.integers(0, 5, 40), rng.normal(size=40)
    groups = np.zeros(40, dtype=int)
    for k in (1, 3, 10, None):
        name = "ndcg" if k is None else f"ndcg@{k}"
        expected = ndcg_score([2.0 ** labels - 1], [scores], k=k)
        assert lookup(name).fn(labels, scores, groups) == pytest.approx(expected, abs=1e-12)


def test_queries_with_equal_labels_are_left_out_in_validation_and_in_score(ranking) -> None:
    X, y, groups = ranking
    train, test = split_by_query(groups)
    m = fit_rank(X[train], y[train], groups[train], estimators=["lgbm"], max_trials=1)
    base = m.score(X[test], y[test], groups=groups[test])
    flat = X[test].head(5)  # one more query whose five rows all have the label 1, and one with a single row
    more_X = pd.concat([X[test], flat, flat.head(1)], ignore_index=True)
    more_y = pd.concat([y[test], pd.Series([1] * 5), pd.Series([4])], ignore_index=True)
    more_groups = np.concatenate([groups[test], ["flat"] * 5, ["single"]]).astype(object)
    assert m.score(more_X, more_y, groups=more_groups) == pytest.approx(base, abs=1e-12)
    task, metric = get_task("rank"), get_metric("ndcg@10", "rank")
    data = FitData(X, y.to_numpy(), groups=groups)
    split = task.splits(data, "holdout", TaskSpec("rank"), 0)[0]
    from automl.fitdata import prepare_fold

    fold = prepare_fold(task, TaskSpec("rank"), data, 0, split, 0)
    constant = np.zeros(len(fold.y_val))  # every query ordered worst first: the score the validation gives it
    expected = metric.fn(fold.y_val, constant, groups[split[1]])
    assert task.score_output(metric, constant, fold) == pytest.approx(expected) and expected < 0.6


def test_metric_names_are_checked_in_one_sentence() -> None:
    with pytest.raises(InputError, match=r'metric="ndcg@0" has an invalid cutoff'):
        lookup("ndcg@0")
    with pytest.raises(InputError, match=r'metric="precision" needs a cutoff; pass e.g. "precision@10"'):
        lookup("precision")
    with pytest.raises(InputError, match=r'Unknown metric "ndgc@10".*Did you mean "ndcg@k"'):
        lookup("ndgc@10")
    with pytest.raises(InputError, match=r'metric="ndcg@10" does not apply to a binary task'):
        get_metric("ndcg@10", "binary")
    with pytest.raises(InputError, match=r'metric="roc_auc" does not apply to a rank task; use one of: .*ndcg@k'):
        get_metric("roc_auc", "rank")


# -- splits ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["cv", "holdout"])
def test_no_query_has_rows_on_both_sides(ranking, method: str) -> None:
    X, y, groups = ranking
    data = get_task("rank").fit_data(X, get_task("rank").encode_target(y), TaskSpec("rank"), groups)
    splits = get_task("rank").splits(data, method, TaskSpec("rank", n_splits=4), seed=3)
    assert len(splits) == (4 if method == "cv" else 1)
    for train, val in splits:
        assert not set(groups[train]) & set(groups[val])
        assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(X)
    if method == "cv":
        assert sorted(np.concatenate([val for _, val in splits]).tolist()) == list(range(len(X)))
    else:
        share = len(np.unique(groups[splits[0][1]])) / len(np.unique(groups))
        assert share == pytest.approx(0.2, abs=0.02)  # a share of the queries


# -- estimators ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["lgbm", "xgboost"])
def test_rankers_group_rows_themselves(ranking, family: str) -> None:
    """The same rows in query order or shuffled give the same ranker: the adapter sorts them by query."""
    X, y, groups = ranking
    X = to_csr(X)  # what the preprocessor gives estimators for the svmlight file's sparse columns
    adapter, context = get_adapter(family), BuildContext("rank", 0, 1, 0)
    config = {**adapter.search_space().for_task("rank", {"n_rows": X.shape[0], "n_features": X.shape[1],
                                                            "n_classes": 0}).default_config(), "n_estimators": 20}
    shuffled = adapter.build(config, context)
    adapter.fit(shuffled, X, y.to_numpy(), extras={"groups": groups})
    order = np.argsort(groups, kind="stable")
    ordered = adapter.build(config, context)
    adapter.fit(ordered, X[order], y.to_numpy()[order], extras={"groups": groups[order]})
    assert type(shuffled).__name__ in ("LGBMRanker", "XGBRanker")
    np.testing.assert_allclose(shuffled.predict(X), ordered.predict(X), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="needs the rows' query ids"):
        adapter.fit(adapter.build(config, context), X, y.to_numpy())


@pytest.mark.parametrize("families,kind", [(["lgbm"], "LGBMRanker"), (["xgboost"], "XGBRanker"),
                                           (["rf"], "RandomForestRegressor"), (["lr"], "Ridge")])
def test_each_family_ranks_held_out_queries_better_than_chance(ranking, families: list[str], kind: str) -> None:
    X, y, groups = ranking
    train, test = split_by_query(groups)
    m = fit_rank(X[train], y[train], groups[train], estimators=families, max_trials=2, eval_method="holdout")
    assert kind in repr(m.best_model_)
    rng = np.random.default_rng(0)
    chance = np.mean([lookup("ndcg@10").fn(y[test].to_numpy(), rng.normal(size=test.sum()), groups[test])
                      for _ in range(20)])
    assert m.score(X[test], y[test], groups=groups[test]) > chance + 0.05


def test_searched_rank_parameters_reach_the_libraries(ranking) -> None:
    X, y, groups = ranking
    m = fit_rank(X, y, groups, estimators=["lgbm", "xgboost"], max_trials=12, strategy="random", eval_method="holdout")
    seen = {(t.estimator, t.config["objective"]) for t in m.study_.trials}
    assert {objective for family, objective in seen if family == "lgbm"} <= {"lambdarank", "rank_xendcg"}
    assert {objective for family, objective in seen if family == "xgboost"} <= {"rank:ndcg", "rank:pairwise", "rank:map"}
    assert all(t.status == "ok" for t in m.study_.trials), m.leaderboard()[["estimator", "error"]]
    params = m.best_model_.get_params()
    assert params["objective"] == m.best_config_["objective"]
    if m.best_estimator_ == "lgbm":
        assert params["label_gain"][2] == pytest.approx(m.best_config_["label_gain_base"] ** 2 - 1)


def test_boosting_rounds_report_validation_ndcg_so_rankers_are_pruned(ranking) -> None:
    X, y, groups = ranking
    m = fit_rank(X, y, groups, estimators=["lgbm", "xgboost"], max_trials=10, strategy="random", early_stop="asha",
                 eval_method="holdout")
    reported = [t for t in m.study_.trials if t.intermediate]
    assert {t.estimator for t in reported} == {"lgbm", "xgboost"}
    for trial in reported:
        assert [step for step, _ in trial.intermediate][:2] == [4, 8][: len(trial.intermediate)]
        assert all(-1.0 <= loss <= 0.0 for _, loss in trial.intermediate)  # losses are -NDCG@10
    assert any(t.status == "pruned" for t in m.study_.trials)


def test_a_holdout_trials_score_is_the_ndcg_of_its_kept_predictions(ranking) -> None:
    X, y, groups = ranking
    m = fit_rank(X, y, groups, estimators=["lgbm"], max_trials=2, eval_method="holdout")
    kept = m.oof_.get(m.best_trial_.trial_id)
    assert not set(groups[kept.rows]) & set(groups[np.setdiff1d(np.arange(len(X)), kept.rows)])
    value = lookup("ndcg@10").fn(y.to_numpy()[kept.rows], kept.values, groups[kept.rows])
    assert value == pytest.approx(m.best_score_, abs=1e-6)
    from automl_dashboards import render_report
    from automl_dashboards.record import record_from_automl

    record = record_from_automl(m)  # the report's per-query distribution: the same queries, the same mean
    assert record.task_report["kind"] == "rank" and record.task_report["metric"] == "ndcg@10"
    assert np.mean(record.task_report["values"]) == pytest.approx(m.best_score_, abs=1e-6)
    assert "ndcg@10 per validation query" in render_report(record)


# -- the Python contract ---------------------------------------------------------------------------------------
def test_the_python_contract(ranking) -> None:
    X, y, groups = ranking
    train, test = split_by_query(groups)
    m = AutoML(task="rank", metric="ndcg@10", time_budget=60, max_trials=3, seed=0, tracking=False, n_jobs=1)
    m.fit(X[train], y[train], groups=groups[train])
    scores = m.predict(X[test])
    assert scores.shape == (int(test.sum()),) and scores.dtype == float
    value = m.score(X[test], y[test], groups=groups[test])
    assert value == pytest.approx(lookup("ndcg@10").fn(y[test].to_numpy(), scores, groups[test]))
    assert (m.task_.kind, m.metric_) == ("rank", "ndcg@10")
    alias = AutoML(task="ranking", time_budget=None, max_trials=1, seed=0, tracking=False, n_jobs=1, estimators=["lr"])
    alias.fit(X[train], y[train], groups=groups[train])
    assert (alias.task_.kind, alias.metric_) == ("rank", "ndcg@10")  # "ranking" is the same task, same default


# -- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("change,message", [
    (lambda X, y, g: (X, y, None), r'task="rank" needs groups, one query id per row; pass groups=query_ids'),
    (lambda X, y, g: (X, y, g[:-3]), r"groups has 886 value\(s\) but X has 889 rows; pass one query id per row"),
    (lambda X, y, g: (X, y.astype(float).where(y.index != 7, 1.5), g), r"non-negative integers, but y has the value 1\.5 \(row 7\)"),
    (lambda X, y, g: (X, y.where(y.index != 3, -1), g), r"non-negative integers, but y has the value -1 \(row 3\)"),
    (lambda X, y, g: (X, y.map({0: "bad", 1: "ok", 2: "good", 3: "great", 4: "best"}), g), r"non-negative integers, but y has dtype (object|str)"),
    (lambda X, y, g: (X, y, np.zeros(len(y))), r"groups holds a single query; ranking needs at least two queries"),
    (lambda X, y, g: (X, y, pd.Series(g).where(pd.Series(g) != g[0]).to_numpy()), r"groups has \d+ missing query id\(s\)"),
])
def test_bad_rank_input_is_one_sentence(ranking, change, message: str) -> None:
    X, y, groups = change(*ranking)
    with pytest.raises(InputError, match=message):
        fit_rank(X, y, groups, estimators=["lr"], max_trials=1)


def test_groups_for_a_task_that_does_not_use_them(breast_cancer) -> None:
    X, y = breast_cancer
    with pytest.raises(InputError, match=r'groups was passed, but task="binary" does not use groups; drop it '
                                         r'\(groups are for task="rank"\)\.'):
        AutoML(time_budget=None, max_trials=1, tracking=False).fit(X, y, groups=np.arange(len(X)) % 7)


def test_scoring_a_ranker_needs_groups(ranking) -> None:
    X, y, groups = ranking
    m = fit_rank(X, y, groups, estimators=["lr"], max_trials=1)
    with pytest.raises(InputError, match=r'task="rank" needs groups'):
        m.score(X, y)
    with pytest.raises(InputError, match=r"groups has 10 value\(s\) but X has 889 rows"):
        m.score(X, y, groups=groups[:10])


def test_a_query_file_whose_sizes_do_not_add_up(tmp_path: Path) -> None:
    data = tmp_path / "docs.train"
    data.write_text("".join(RANK_DATA.read_text().splitlines(keepends=True)[:12]))
    (tmp_path / "docs.train.query").write_text("5\n6\n")
    with pytest.raises(InputError, match=r"query file '.*docs.train.query' has sizes adding up to 11 rows, but data "
                                         r"file '.*docs.train' has 12; give one size per query, in row order\."):
        read_svmlight(data)
    (tmp_path / "docs.train.query").write_text("12\n0\n")
    with pytest.raises(InputError, match=r"has the size 0 on line 2; give one positive size per query"):
        read_svmlight(data)


def test_svmlight_qid_fields_name_the_queries(tmp_path: Path) -> None:
    path = tmp_path / "docs.svmlight"
    path.write_text("2 qid:7 1:0.5 3:1\n0 qid:7 2:1\n1 qid:9 1:0.25\n")
    frame = read_svmlight(path)
    assert list(frame.columns) == ["label", "qid", "f0", "f1", "f2", "f3"]
    assert frame.qid.tolist() == [7, 7, 9] and frame.label.tolist() == [2, 0, 1] and frame.f3.tolist() == [1, 0, 0]
