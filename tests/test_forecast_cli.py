"""Forecasting from the command line: the shipped example job, forecasts with timestamps and intervals, MLflow."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.conftest import REPO
from tests.test_cli import cli

EXAMPLE_JOB = REPO / "examples" / "forecast_air_passengers.yaml"


@pytest.mark.slow
def test_the_forecast_example_job_then_predict_with_intervals(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = cli("tune", str(EXAMPLE_JOB), "--quiet", "--time-budget", "15", "--max-trials", "8",
                 "--tracking-uri", store, "--output", str(tmp_path / "forecast.pkl"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Test mase: \d+\.\d+ on 12 rows", result.stdout) and "Best:" in result.stdout  # its own value, not negated
    run_id = re.search(r"MLflow run id: (\w+)", result.stdout).group(1)
    model_uri = re.search(r"MLflow model: (\S+)", result.stdout).group(1)
    client = MlflowClient(store)
    params = client.get_run(run_id).data.params
    assert params["task"] == "forecast" and params["horizon"] == "12" and params["season"] == "12"
    assert int(params["backtest_windows"]) >= 1
    assert 0 <= client.get_run(run_id).data.metrics["backtest_coverage_90"] <= 1
    report = Path(client.download_artifacts(run_id, "report.html", str(tmp_path))).read_text()
    assert "Forecasts" in report and "backtest forecasts" in report  # the forecast chart, drawn by the writer
    trial_runs = client.search_runs([client.get_run(run_id).info.experiment_id],
                                    f"tags.mlflow.parentRunId = '{run_id}' and attributes.status = 'FINISHED'")
    assert any("mase_window0" in run.data.metrics for run in trial_runs)  # each window's score on its trial

    history = pd.read_csv(REPO / "examples" / "data" / "air_passengers.csv")
    # the job held out 1960 for its test score (test_size), so the model forecasts 1960 from 1949-1959
    future = pd.DataFrame({"ds": pd.date_range("1960-01-31", periods=12, freq="ME").strftime("%Y-%m-%d")})
    future.to_csv(tmp_path / "future.csv", index=False)
    result = cli("predict", "--model", "forecast.pkl", "--data", "future.csv", "--out", "forecast.csv",
                 "--interval", "0.9", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    forecast = pd.read_csv(tmp_path / "forecast.csv")
    assert list(forecast.columns) == ["ds", "prediction", "lower", "upper"] and len(forecast) == 12
    assert forecast["ds"].tolist() == future["ds"].tolist()
    assert (forecast["lower"] <= forecast["prediction"]).all() and (forecast["prediction"] <= forecast["upper"]).all()
    assert forecast["prediction"].between(0.5 * history["passengers"].min(), 2 * history["passengers"].max()).all()

    result = cli("predict", "--model", model_uri, "--data", "future.csv", "--out", "pyfunc.csv", cwd=tmp_path,
                 env={"MLFLOW_TRACKING_URI": store})
    assert result.returncode == 0, result.stderr  # the MLflow pyfunc model forecasts from a frame of future timestamps
    pyfunc = pd.read_csv(tmp_path / "pyfunc.csv")
    assert pyfunc["prediction"].round(6).tolist() == forecast["prediction"].round(6).tolist()
