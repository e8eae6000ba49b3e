"""Shared fixtures: small real datasets, a real MLflow SQLite store and a real `mlflow server` per test session."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine, make_friedman1

from automl.tracking.journal import JOURNAL_DIR_ENV
from tests.loopback import MlflowServer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def session_journal_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Jobs journal what they send to MLflow as they run (``automl.tracking.journal``): the session's jobs (those of
    module- and session-scoped fixtures too) keep their journals in a temporary folder, never in the checkout."""
    folder = tmp_path_factory.mktemp("journals")
    before = os.environ.get(JOURNAL_DIR_ENV)
    os.environ[JOURNAL_DIR_ENV] = str(folder)
    yield folder
    if before is None:
        os.environ.pop(JOURNAL_DIR_ENV, None)
    else:
        os.environ[JOURNAL_DIR_ENV] = before


@pytest.fixture(autouse=True)
def journal_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own journal folder: a journal a killed job leaves (or ``automl sync`` with no argument) is that
    test's alone."""
    folder = tmp_path_factory.mktemp("journal")
    monkeypatch.setenv(JOURNAL_DIR_ENV, str(folder))
    return folder


@pytest.fixture(scope="session")
def breast_cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def wine_strings() -> tuple[pd.DataFrame, pd.Series]:
    """Multiclass with string labels."""
    data = load_wine()
    X = pd.DataFrame(data.data, columns=data.feature_names)
    y = pd.Series([str(data.target_names[i]) for i in data.target], name="cultivar")
    return X, y


@pytest.fixture(scope="session")
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def mixed_frame() -> tuple[pd.DataFrame, pd.Series]:
    """Numbers, strings, pandas categoricals, booleans, datetimes and missing values; string labels."""
    rng = np.random.default_rng(0)
    n = 400
    colour = rng.choice(["red", "green", "blue"], n)
    size = pd.Categorical(rng.choice(["S", "M", "L"], n), categories=["S", "M", "L"])
    amount = rng.normal(size=n)
    amount[rng.random(n) < 0.1] = np.nan
    flag = rng.random(n) < 0.5
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    signal = amount + (colour == "red") * 1.5 + flag * 0.8 + (np.asarray(size) == "L") * 0.5
    y = np.where(np.nan_to_num(signal) + rng.normal(scale=0.5, size=n) > 0.8, "yes", "no")
    X = pd.DataFrame({"amount": amount, "colour": colour, "size": size, "flag": flag, "when": when})
    X.loc[rng.random(n) < 0.05, "colour"] = None
    return X, pd.Series(y, name="label")


@pytest.fixture(scope="session")
def friedman() -> tuple[pd.DataFrame, pd.Series]:
    """Non-linear regression: a forest beats a linear model by far (R2 about 0.85 against 0.74)."""
    X, y = make_friedman1(n_samples=600, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(10)]), pd.Series(y, name="y")


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real MLflow SQLite store shared by the session (each test uses its own experiment)."""
    path = tmp_path_factory.mktemp("mlflow") / "mlflow.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real `mlflow server` on loopback (SQLite behind it, artifacts served), started once for the session (a
    start takes 6-7 s here); tests that kill it start it again before they end."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server")).start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def experiment(request: pytest.FixtureRequest) -> str:
    return f"test-{request.node.name}"[:200]
