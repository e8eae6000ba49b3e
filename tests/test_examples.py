"""The examples in examples/ run as shipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from automl.cli.jobspec import load_job
from automl.cli.tune_command import check_job
from automl.io import read_table
from tests.conftest import REPO

EXAMPLES = REPO / "examples"


@pytest.mark.parametrize("job", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_jobs_are_valid_and_point_at_shipped_data(job: Path) -> None:
    spec = load_job(job, {})
    check_job(spec)
    frame = read_table(spec.data)
    assert spec.target in frame.columns and len(frame) > 100


def test_example_data_matches_the_generator() -> None:
    shipped = pd.read_csv(EXAMPLES / "data" / "breast_cancer.csv")
    expected = load_breast_cancer(as_frame=True).frame.round(6)
    pd.testing.assert_frame_equal(shipped, expected, check_dtype=False)


@pytest.mark.slow
def test_python_api_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("python_api", EXAMPLES / "python_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    automl = module.main(time_budget=6, tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    out = capsys.readouterr().out
    assert "test roc_auc:" in out and automl.mlflow_run_id_ in out
