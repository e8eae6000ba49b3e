"""The job report: written to every parent run, rebuilt from MLflow or a model file, self-contained."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from automl import AutoML, InputError
from automl.cli.report_command import run_report
from automl.persistence import save_model
from automl_dashboards import JobRecord, render_report
from automl_dashboards.importance import param_importance
from tests.test_cli import cli

SECTIONS = ["summary", "leaderboard", "progress", "hyperparameters", "importance", "early-stopping", "features", "time", "stopped"]


@pytest.fixture(scope="module")
def job(breast_cancer: tuple[pd.DataFrame, pd.Series], tracking_uri: str) -> AutoML:
    """A tracked job with early stopping on boosting rounds (holdout), so every section has content."""
    X, y = breast_cancer
    return AutoML(time_budget=None, max_trials=30, seed=0, eval_method="holdout", n_jobs=1, tracking_uri=tracking_uri,
                  experiment="report", estimators=["lgbm", "xgboost", "lr"]).fit(X, y)


class ExternalReferences(HTMLParser):
    """Collects what a page would fetch: script sources, stylesheets, images."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("script", "img", "iframe") and found.get("src") and not str(found["src"]).startswith("data:"):
            self.fetched.append(str(found["src"]))
        if tag == "link" and found.get("href") and not str(found["href"]).startswith("data:"):
            self.fetched.append(str(found["href"]))


def chart_ids(page: str) -> list[str]:
    return re.findall(r'<div id="(chart-\d+)" class="plotly-graph-div"', page)


def section(page: str, name: str) -> str:
    """The inside of one ``<section>`` of the page (sections do not nest), not the embedded plotly.js."""
    found = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert found is not None, f"no section {name!r}"
    return found.group(1)


def check_page(page: str, job: AutoML) -> None:
    for name in SECTIONS:
        assert f'<section id="{name}">' in page, name
    assert len(chart_ids(page)) >= 7  # progress x2, parcoords, importance, intermediate, features, time x2
    parser = ExternalReferences()
    parser.feed(page)
    assert parser.fetched == []  # plotly.js and the styles are embedded: the page works offline
    assert f"with roc_auc = {job.best_score_:.5g}" in page
    assert page.count("Plotly.newPlot") == len(chart_ids(page))


def test_every_job_run_carries_the_report_and_feature_importance(job: AutoML, tracking_uri: str, tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri)
    artifacts = {a.path for a in client.list_artifacts(job.mlflow_run_id_)}
    assert {"report.html", "feature_importance.json", "leaderboard.csv"} <= artifacts
    page = Path(client.download_artifacts(job.mlflow_run_id_, "report.html", str(tmp_path))).read_text()
    check_page(page, job)
    importance = json.loads(Path(client.download_artifacts(job.mlflow_run_id_, "feature_importance.json", str(tmp_path))).read_text())
    assert sum(importance.values()) == pytest.approx(1.0, abs=0.05) and set(importance) <= set(job.feature_names_in_)


def test_report_is_rebuilt_from_mlflow_with_the_same_trials(job: AutoML, tracking_uri: str, tmp_path: Path) -> None:
    out = run_report(job.mlflow_run_id_, tmp_path / "report.html", tracking_uri, "fanova")
    page = out.read_text()
    check_page(page, job)
    assert "fANOVA" in page
    pruned = job.study_.count("pruned")
    stopped = section(page, "stopped")
    n_stopped = len(job.study_.trials) - job.study_.count("ok")
    assert f"<h2>Failed and pruned trials ({n_stopped})</h2>" in stopped  # failed and pruned trials, counted
    assert stopped.count("<tr><td") == n_stopped  # and listed, one row each
    assert pruned > 0 and "stopped by asha at round" in stopped


def test_report_from_a_model_file_via_the_cli(job: AutoML, tmp_path: Path) -> None:
    model = save_model(job, tmp_path / "model.pkl")
    done = cli("report", str(model), "--out", str(tmp_path / "r.html"), "--importance", "ped-anova", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    check_page((tmp_path / "r.html").read_text(), job)


def test_unknown_run_is_one_clear_error(tracking_uri: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"run 'no-such-run' is not in the MLflow store"):
        run_report("no-such-run", tmp_path / "r.html", tracking_uri, "fanova")
    done = cli("report", "no-such-run", "--tracking-uri", tracking_uri, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: run 'no-such-run'") and "Traceback" not in done.stderr
    assert not (tmp_path / "report.html").exists()


def test_importance_ranks_the_parameter_that_matters_first() -> None:
    rng = np.random.default_rng(0)
    n = 60
    trials = pd.DataFrame({"estimator": "f", "status": "ok", "param.matters": rng.uniform(0, 1, n),
                           "param.noise": rng.uniform(0, 1, n), "param.kind": rng.choice(["a", "b"], n)})
    trials["score"] = -((trials["param.matters"] - 0.3) ** 2) + rng.normal(0, 1e-3, n)
    for method in ("fanova", "ped-anova"):
        ranked = param_importance(trials, "f", maximize=True, method=method)
        assert list(ranked)[0] == "matters", (method, ranked)


def test_a_job_without_finished_trials_still_renders() -> None:
    trials = pd.DataFrame({"trial_id": [0, 1], "estimator": ["lgbm", "rf"], "status": ["failed", "pruned"],
                           "score": [None, None], "duration_s": [0.1, 0.2], "started_at": [1.0, 1.1],
                           "error": ["ValueError: bad", "stopped by asha after fold 1"]})
    page = render_report(JobRecord(job={"task": "binary", "metric": "roc_auc"}, trials=trials))
    stopped = section(page, "stopped")
    assert "none finished" in page and "<h2>Failed and pruned trials (2)</h2>" in stopped and "ValueError: bad" in stopped


def scaled_record(n: int = 8) -> JobRecord:
    """lr trials over a log-scale C (0.001 to 10), a categorical penalty with numeric choices, a constant max_iter."""
    C = np.logspace(-3, 1, n)
    trials = pd.DataFrame({"trial_id": range(n), "estimator": "lr", "status": "ok", "score": 0.9 + 0.01 * np.log10(C),
                           "duration_s": 0.1, "started_at": np.arange(n, dtype=float), "param.C": C,
                           "param.degree": [1, 2, 10] * (n // 3) + [1] * (n % 3), "param.max_iter": 100})
    job = {"task": "binary", "metric": "roc_auc", "param_scales": "lr.C=log;lr.degree=categorical;rf.criterion=categorical"}
    return JobRecord(job=job, trials=trials)


def test_parallel_coordinates_draw_the_declared_scales() -> None:
    from automl_dashboards import charts

    record = scaled_record()
    assert record.scales("lr") == {"C": "log", "degree": "categorical"}
    dims = {d.label: d for d in charts.parallel_coordinates(record, "lr").data[0].dimensions}
    assert set(dims) == {"C (log)", "degree", "roc_auc"}  # max_iter is the same in every trial: named, not drawn
    log_axis = dims["C (log)"]
    np.testing.assert_allclose(log_axis.values, np.linspace(-3, 1, 8))
    assert list(log_axis.ticktext) == ["0.001", "0.01", "0.1", "1", "10"] and list(log_axis.tickvals) == [-3, -2, -1, 0, 1]
    assert list(dims["degree"].ticktext) == ["1", "2", "10"]  # numeric choices in numeric order, one tick each
    title = charts.parallel_coordinates(record, "lr").layout.title.text
    assert "the same in every trial: max_iter=100" in title


def test_importance_uses_the_declared_log_scale() -> None:
    from automl_dashboards.importance import _distribution

    values = pd.Series([1.0, 2.0, 5.0, 9.0])  # a range too narrow to be inferred as log
    assert _distribution(values).log is False and _distribution(values, "log").log is True
    assert type(_distribution(pd.Series([1, 2, 10]), "categorical")).__name__ == "CategoricalDistribution"


def test_sections_without_charts_say_why() -> None:
    record = scaled_record(n=1)
    page = render_report(record)
    assert "No family has 3 finished trials whose hyperparameters differ yet" in section(page, "hyperparameters")
    assert "No family has 6 finished trials" in section(page, "importance")
    assert 'href="#forecast"' not in page and '<section id="forecast">' not in page  # another kind's section: absent
