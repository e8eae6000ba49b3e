"""AutoML as a scikit-learn estimator: scikit-learn's own check_estimator, sparse input end to end, Pipelines,
cross_val_score and GridSearchCV with tracking on, and the tags other tools read."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from scipy import sparse
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import dump_svmlight_file, load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automl import AutoML, InputError, load_model, save_model
from mlflow import MlflowClient

from automl.estimators import ESTIMATORS
from automl.tracking.mlflow_reader import job_run
from tests.conftest import REPO
from tests.test_cli import cli

#: What check_estimator runs on: one family, a fixed number of trials (a time budget makes fits non-deterministic,
#: which the tags then declare and scikit-learn skips the checks of repeatability), a quick holdout.
CHECKED = {"time_budget": None, "max_trials": 2, "eval_method": "holdout", "tracking": False, "estimators": ["lr"],
           "ensemble": False}

CHECK_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
from sklearn.utils.estimator_checks import check_estimator
from automl import AutoML
results = check_estimator(AutoML(task=sys.argv[1], **json.loads(sys.argv[2])), on_fail=None)
print(json.dumps([{"check": r["check_name"], "status": r["status"], "error": str(r["exception"])[:300]}
                  for r in results]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_scikit_learn_check_estimator_passes_every_check(task: str) -> None:
    """SCIPY_ARRAY_API=1, set before scipy is imported, so that the array-API check runs too instead of skipping."""
    result = subprocess.run([sys.executable, "-c", CHECK_SCRIPT, task, json.dumps(CHECKED)], capture_output=True,
                            text=True, timeout=500, cwd=REPO, env={**os.environ, "SCIPY_ARRAY_API": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    checks = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(checks) >= 50  # scikit-learn 1.9 yields 54 for a classifier, 51 for a regressor
    failed = [c for c in checks if c["status"] != "passed"]
    assert not failed, failed


def test_tags_follow_the_task() -> None:
    assert is_classifier(AutoML(task="classification")) and not is_regressor(AutoML(task="classification"))
    assert is_regressor(AutoML(task="regression")) and not hasattr(AutoML(task="regression"), "predict_proba")
    with pytest.raises(AttributeError, match="predict_proba is only available for classification"):
        AutoML(task="regression").predict_proba  # noqa: B018 - the attribute itself is refused
    tags = AutoML().__sklearn_tags__()
    assert tags.input_tags.allow_nan and tags.input_tags.sparse and tags.input_tags.string
    assert tags.non_deterministic and not AutoML(**{**CHECKED, "tracking": True}).__sklearn_tags__().non_deterministic
    assert not AutoML(task="forecast").__sklearn_tags__().input_tags.sparse


# -- sparse input -------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def one_hot_digits() -> tuple[sparse.csr_matrix, np.ndarray]:
    """Real one-hot features: every pixel of scikit-learn's digits one-hot encoded by its grey level (6% stored);
    the target is whether the digit is 5 or more."""
    digits = load_digits()
    X = OneHotEncoder(handle_unknown="ignore").fit_transform(digits.data).tocsr()
    return X, (digits.target >= 5).astype(int)


@pytest.mark.slow
def test_sparse_input_end_to_end(one_hot_digits: tuple, tracking_uri: str, experiment: str,
                                 caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = one_hot_digits
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # where the MLflow model is loaded from
    train, test = np.arange(X.shape[0]) % 4 != 0, np.arange(X.shape[0]) % 4 == 0
    m = AutoML(task="classification", time_budget=None, max_trials=4, eval_method="holdout", seed=0,
               estimators=["lr", "lgbm", "mlp"], tracking_uri=tracking_uri, experiment=experiment)
    with caplog.at_level("INFO", logger="automl.params"):
        m.fit(X[train], y[train])
    assert "X is sparse: mlp left out of the search (it takes no sparse input)." in caplog.text
    assert set(m.leaderboard().estimator) <= {"lr", "lgbm", "ensemble"}
    assert m.job_params_["sparse"] is True and 0.01 < m.job_params_["density"] < 0.1
    assert m.score(X[test], y[test]) > 0.95  # roc_auc on held-out digits
    predictions = m.predict_proba(X[test])
    for other in (sparse.csc_matrix(X[test]), sparse.coo_array(X[test]), X[test].toarray()):
        np.testing.assert_allclose(m.predict_proba(other), predictions, rtol=1e-12)
    with pytest.raises(InputError, match=f"X has 10 features, but AutoML is expecting {X.shape[1]} features"):
        m.predict(X[test][:, :10])

    client, run = job_run(m.mlflow_run_id_, tracking_uri)
    assert run.data.params["sparse"] == "True" and "sparse (" in run.data.tags["mlflow.note.content"]
    pyfunc = mlflow.pyfunc.load_model(m.model_uri_)
    np.testing.assert_array_equal(pyfunc.predict(X[test]), m.predict(X[test]))  # the MLflow model takes CSR
    save_model(m.pipeline_, tmp_path / "model.pkl")
    np.testing.assert_array_equal(load_model(tmp_path / "model.pkl").predict(X[test]), m.predict(X[test]))


NEVER_DENSE = """
import json, sys
import numpy as np
from scipy import sparse
from automl import AutoML
rng = np.random.default_rng(0)  # 40,000 entries (scipy's sparse.random would allocate 1.6 GB to draw them)
X = sparse.csr_matrix((rng.random(40_000), (rng.integers(0, 1000, 40_000), rng.integers(0, 200_000, 40_000))),
                      shape=(1000, 200_000))
m = AutoML(**json.loads(sys.argv[1])).fit(X, np.arange(1000) % 2)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(m.predict(X).shape[0], peak_kb * 1024)
"""


def test_sparse_input_is_never_densified() -> None:
    """200,000 columns: dense, 1,000 rows would be 1.6 GB; the process that fits them (its imports included) peaks
    far below that (measured in a process of its own: the peak resident memory of its address space, VmHWM;
    ru_maxrss would count the pytest process it was forked from)."""
    result = subprocess.run([sys.executable, "-c", NEVER_DENSE, json.dumps({**CHECKED, "max_trials": 1})],
                            capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    rows, peak = map(int, result.stdout.split())
    assert rows == 1000
    assert peak < 0.5 * 1000 * 200_000 * 8, f"{peak / 1e6:.0f} MB at the peak"


def test_sparse_input_refusals_name_what_to_do(one_hot_digits: tuple) -> None:
    X, y = one_hot_digits
    takers = [n for n in ESTIMATORS.names() if ESTIMATORS.get(n).accepts_sparse]
    assert set(takers) == {"lgbm", "xgboost", "xgb_limitdepth", "rf", "extra_trees", "lr"}
    with pytest.raises(InputError, match=r"none of estimators=\['mlp'\] takes sparse input; add one that does"):
        AutoML(**{**CHECKED, "estimators": ["mlp"]}).fit(X, y)
    with pytest.raises(InputError, match="X holds 1 infinite value"):
        bad = X.copy()
        bad.data[0] = np.inf
        AutoML(**CHECKED).fit(bad, y)
    with pytest.raises(InputError, match='task="forecast" needs a DataFrame'):
        AutoML(task="forecast", **{**CHECKED, "estimators": ["snaive"]}).fit(X, y.astype(float), time_column="ds",
                                                                           horizon=2)
    dense = AutoML(**CHECKED).fit(X[:200].toarray(), y[:200])
    with pytest.raises(InputError, match="X is a sparse matrix, but this model was fitted on a dense table"):
        dense.predict(X[:5])


def test_an_svmlight_job_stays_sparse_through_the_cli(one_hot_digits: tuple, tmp_path: Path) -> None:
    X, y = one_hot_digits
    dump_svmlight_file(X, y, str(tmp_path / "digits.svm"), zero_based=True)
    job = {"data": "digits.svm", "target": "label", "time_budget": None, "max_trials": 2, "estimators": ["lr"],
           "eval_method": "holdout", "tracking": False, "test_size": 0.25, "output": "model.pkl", "n_jobs": 1}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    result = cli("tune", "job.yaml", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0 and re.search(r"sparse \(\d+(\.\d+)?% stored\)", result.stdout), result.stdout
    result = cli("tune", "job.yaml", "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert float(re.search(r"Test roc_auc: (0\.\d+)", result.stdout).group(1)) > 0.9, result.stdout
    dump_svmlight_file(X[:50, :-3], y[:50], str(tmp_path / "new.svm"), zero_based=True)  # trailing features absent
    result = cli("predict", "--model", "model.pkl", "--data", "new.svm", "--out", "p.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 51


# -- Pipelines and model selection --------------------------------------------------------------------------------
def parent_run_names(tracking_uri: str, experiment: str) -> list[str]:
    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return [r.info.run_name for r in runs if "mlflow.parentRunId" not in r.data.tags]


QUICK = {"time_budget": None, "max_trials": 2, "eval_method": "holdout", "estimators": ["lr"], "ensemble": False}


@pytest.mark.slow
def test_in_a_pipeline_under_cross_val_score_with_one_named_run_per_fit(breast_cancer: tuple, tracking_uri: str,
                                                                       experiment: str) -> None:
    X, y = breast_cancer
    pipeline = make_pipeline(StandardScaler(), AutoML(**QUICK, tracking_uri=tracking_uri, experiment=experiment))
    scores = cross_val_score(pipeline, X, y, cv=2)
    assert scores.shape == (2,) and (scores > 0.9).all()  # roc_auc, greater is better
    names = parent_run_names(tracking_uri, experiment)
    assert len(names) == 2 and len(set(names)) == 2, names
    assert all(re.fullmatch(r"automl-binary-\w+-\d+x30-[0-9a-f]{6}", name) for name in names), names


@pytest.mark.slow
def test_as_the_estimator_of_grid_search_and_clone(diabetes: tuple, tracking_uri: str, experiment: str) -> None:
    X, y = diabetes
    base = AutoML(task="regression", metric="rmse", **QUICK, tracking_uri=tracking_uri, experiment=experiment)
    assert clone(base).get_params() == base.get_params() and not hasattr(clone(base), "best_estimator_")
    split = [(np.arange(len(X)) % 3 != 0, np.arange(len(X)) % 3 == 0)]  # one split: the fits are the point, not CV
    search = GridSearchCV(base, {"estimators": [["lr"], ["rf"]]}, cv=split).fit(X, y)
    assert search.best_params_["estimators"] in (["lr"], ["rf"])
    assert search.best_score_ < 0  # rmse negated: greater is better, as scikit-learn's neg_ scorers
    assert search.best_estimator_.best_estimator_ == search.best_params_["estimators"][0]
    assert search.predict(X[:5]).shape == (5,)
    names = parent_run_names(tracking_uri, experiment)
    assert len(names) == 3 and len(set(names)) == 3, names  # each candidate on the split, and the refit


def test_the_users_sparse_matrix_is_left_as_it_was() -> None:
    """Duplicate entries (what a CSR built from triples may hold) are summed in a copy, not in the user's matrix."""
    X = sparse.csr_matrix((np.array([1.0, 2.0, 3.0, 4.0] * 10), np.array([0, 0, 1, 1] * 10), np.arange(0, 41, 4)),
                          shape=(10, 2))  # every row holds each column twice
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    m = AutoML(**CHECKED).fit(X, np.arange(10) % 2)
    assert m.predict(X).shape == (10,)
    for kept, now in zip(before, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(kept, now)
