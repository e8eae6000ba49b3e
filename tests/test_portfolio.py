"""Portfolio warm start: starting configurations chosen by data shape, fitted into the job's space, run first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from automl import AutoML, InputError
from automl.estimators import get_adapter
from automl.portfolio import DataShape, Portfolio, PortfolioEntry, fit_into
from automl.space import JointSpace
from tests.test_cli import cli, write_job

LGBM_START = {"n_estimators": 60, "num_leaves": 7, "min_child_samples": 10, "learning_rate": 0.2, "log_max_bin": 6,
              "colsample_bytree": 0.5, "reg_alpha": 0.01, "reg_lambda": 0.1}


def shape(kind: str = "binary", rows: int = 500, features: int = 30, share: float = 0.0, classes: int = 2) -> DataShape:
    return DataShape(kind, rows, features, share, classes)


def space(*families: str, rows: int = 500) -> JointSpace:
    names = {"n_rows": rows, "n_features": 30, "n_classes": 2}
    return JointSpace({f: get_adapter(f).search_space().for_task("classification", names) for f in families})


def entry(name: str, data: DataShape, **configs: dict) -> PortfolioEntry:
    return PortfolioEntry(name, data, {family: [config] for family, config in configs.items()})


def test_starts_come_from_the_nearest_data_sets_that_have_the_family() -> None:
    near, far, regression = shape(rows=400), shape(rows=400_000, features=3), shape("regression", rows=500, classes=0)
    portfolio = Portfolio((
        entry("far", far, lgbm={**LGBM_START, "num_leaves": 100}, lr={"C": 5.0}),
        entry("near", near, lgbm=LGBM_START),
        entry("regression", regression, lgbm={**LGBM_START, "num_leaves": 50}),
    ))
    starts = portfolio.starts(shape(), space("lgbm", "lr"))
    # lgbm: the nearest, then the regression set (same size, other kind) before the far one; lr: only "far" has it
    assert starts == {"lgbm": [LGBM_START, {**LGBM_START, "num_leaves": 50}], "lr": [{"C": 5.0}]}
    assert [e.dataset for e in portfolio.ranked(shape())] == ["near", "regression", "far"]
    assert portfolio.without("near").starts(shape(), space("lgbm"))["lgbm"][0]["num_leaves"] == 50
    assert portfolio.starts(shape("forecast"), space("lgbm")) == {}  # forecast and rank search from their defaults
    assert portfolio.starts(shape("rank"), space("lgbm")) == {}


def test_a_start_is_fitted_into_the_space_and_a_default_or_repeat_is_left_out() -> None:
    lgbm = space("lgbm", rows=50).spaces["lgbm"]  # n_estimators and num_leaves are at most n_rows = 50
    fitted = fit_into(lgbm, {**LGBM_START, "n_estimators": 900, "learning_rate": 7.0, "gone": 1, "num_leaves": "x"})
    assert fitted == {**LGBM_START, "n_estimators": 50, "learning_rate": 1.0, "num_leaves": 31}
    assert fit_into(lgbm, {"reg_alpha": 1.0}) == {**lgbm.default_config(), "reg_alpha": 1.0}  # the rest at defaults
    default = space("lgbm").spaces["lgbm"].default_config()
    portfolio = Portfolio((entry("a", shape(), lgbm=default), entry("b", shape(), lgbm=LGBM_START),
                           entry("c", shape(), lgbm=LGBM_START)))
    assert portfolio.starts(shape(), space("lgbm"), nearest=3) == {"lgbm": [LGBM_START]}


def test_a_start_too_costly_for_the_budget_gives_way_to_the_next_nearest(breast_cancer: tuple) -> None:
    cheap, costly = {**LGBM_START, "n_estimators": 20}, {**LGBM_START, "n_estimators": 400}
    portfolio = Portfolio((entry("nearest", shape(rows=500), lgbm=costly), entry("next", shape(rows=600), lgbm=cheap)))
    assert portfolio.starts(shape(), space("lgbm"), nearest=1) == {"lgbm": [costly]}
    assert portfolio.starts(shape(), space("lgbm"), nearest=1,
                            affordable=lambda family, config: config["n_estimators"] < 100) == {"lgbm": [cheap]}
    X, y = breast_cancer  # in a job: a start is kept when its estimated cost is at most 5% of the time budget
    forest = {"n_estimators": 2048, "max_features": 1.0, "max_leaves": 500, "criterion": "entropy"}
    big = Portfolio((entry("b", shape(rows=569), rf=forest),))
    plans = {budget: AutoML(time_budget=budget, max_trials=5, estimators=["rf"], warm_start=big, tracking=False).plan(X, y)
             for budget in (10, None)}
    assert plans[10]["warm_start_configs"] == 0 and plans[None]["warm_start_configs"] == 1


def test_the_shipped_portfolio_names_only_parameters_of_the_shipped_spaces() -> None:
    """A space that drops or renames a parameter must come with a re-mined portfolio (benchmarks/portfolio_mine.py)."""
    portfolio = Portfolio.shipped()
    assert {e.shape.kind for e in portfolio.entries} == {"binary", "multiclass", "regression"}
    for e in portfolio.entries:
        estimator_kind = "regression" if e.shape.kind == "regression" else "classification"
        for family, configs in e.configs.items():
            params = {p.name for p in get_adapter(family).search_space().params if p.applies_to(estimator_kind)}
            for config in configs:
                assert set(config) <= params, (e.dataset, family, set(config) - params)


def write_portfolio(path: Path, *entries: PortfolioEntry) -> Path:
    path.write_text(json.dumps(Portfolio(entries).to_json()))
    return path


def test_a_job_tries_each_familys_starts_after_its_default(tmp_path: Path, breast_cancer: tuple) -> None:
    X, y = breast_cancer
    path = write_portfolio(tmp_path / "portfolio.json", entry("like_breast_cancer", shape(rows=569, features=30),
                                                              lgbm=LGBM_START, lr={"C": 3.0}))
    m = AutoML(time_budget=None, max_trials=6, estimators=["lgbm", "lr"], tracking=False, eval_method="holdout",
               warm_start=str(path), seed=0).fit(X, y)
    by_family = {f: [t.config for t in m.study_.trials if t.estimator == f] for f in ("lgbm", "lr")}
    lgbm_default = space("lgbm", rows=569).spaces["lgbm"].default_config()
    assert by_family["lgbm"][:2] == [lgbm_default, LGBM_START], by_family
    assert by_family["lr"][1] == {"C": 3.0}, by_family
    assert m.job_params_["warm_start"] == str(path) and m.job_params_["warm_start_configs"] == 2
    assert m.job_params_["warm_start_nearest"] == "like_breast_cancer"
    off = AutoML(time_budget=None, max_trials=6, estimators=["lgbm", "lr"], tracking=False, eval_method="holdout",
                 seed=0).fit(X, y)  # off by default
    assert off.job_params_["warm_start"] == "off" and off.job_params_["warm_start_configs"] == 0
    assert LGBM_START not in [t.config for t in off.study_.trials]


@pytest.mark.parametrize("value, message", [
    ("missing.json", "warm_start='missing.json': no such portfolio file; pass True"),
    (3, "warm_start=3 is invalid; pass True (the shipped portfolio), False"),
])
def test_bad_warm_start_is_one_sentence_before_any_work(value: object, message: str, breast_cancer: tuple) -> None:
    X, y = breast_cancer
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AutoML(warm_start=value, tracking=False).fit(X, y)


def test_a_file_that_is_not_a_portfolio_is_named(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text("not json")
    with pytest.raises(InputError, match="is not a portfolio file"):
        Portfolio.load(tmp_path / "notes.json")
    (tmp_path / "other.json").write_text(json.dumps({"entries": [{"dataset": "x"}]}))
    with pytest.raises(InputError, match=r"other.json is not a portfolio file \(missing or malformed 'shape'\)"):
        Portfolio.load(tmp_path / "other.json")


def test_job_file_and_flag_show_the_warm_start_in_the_dry_run(tmp_path: Path) -> None:
    (tmp_path / "jobs").mkdir()
    write_portfolio(tmp_path / "jobs" / "mine.json", entry("mine", shape(rows=569), lgbm=LGBM_START))
    job = write_job(tmp_path / "jobs", warm_start="mine.json", estimators=["lgbm"])  # relative to the job file
    out = " ".join(cli("tune", str(job), "--dry-run", cwd=tmp_path).stdout.split())
    assert f"warm start │ 1 configuration(s) from {tmp_path / 'jobs' / 'mine.json'} (data sets nearest in shape: mine)" in out
    off = cli("tune", str(job), "--dry-run", "--warm-start", "false", cwd=tmp_path)
    assert "warm start │ off: each family starts from its defaults" in " ".join(off.stdout.split()), off.stderr
    bad = cli("tune", str(write_job(tmp_path, warm_start=[1])), "--dry-run", cwd=tmp_path)
    assert bad.returncode == 2 and "warm_start" in bad.stderr and "true, false or the path of a portfolio file" in bad.stderr


def test_a_warm_started_job_is_reproducible(tmp_path: Path, breast_cancer: tuple) -> None:
    """The same seed and portfolio give the same trials (what resume relies on)."""
    X, y = breast_cancer
    path = write_portfolio(tmp_path / "p.json", entry("b", shape(rows=569), lgbm=LGBM_START))
    runs = [AutoML(time_budget=None, max_trials=5, estimators=["lgbm"], tracking=False, eval_method="holdout",
                   warm_start=str(path), seed=3).fit(X, y) for _ in range(2)]
    configs = [[t.config for t in r.study_.trials] for r in runs]
    assert configs[0] == configs[1] and configs[0][1] == LGBM_START
