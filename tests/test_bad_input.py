"""Bad input, round two: damaged data files, wrongly typed job fields, column names, a target used as a feature.

Each case is one sentence naming the file, field or column, the value and what to do, and leaves what the user
had as it was.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from automl import AutoML, InputError
from automl.cli.jobspec import JobSpec, load_job
from automl.cli.tune_command import check_job
from automl.io import read_table
from tests.test_cli import EXAMPLE, cli, write_job

ROWS = pd.read_csv(EXAMPLE).head(20)


def one_error_line(result: object) -> str:
    """The single ``error: ...`` line of a failed command (exit 2, no traceback)."""
    assert result.returncode == 2, result.stdout + result.stderr  # type: ignore[attr-defined]
    lines = [line for line in result.stderr.splitlines() if line.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr  # type: ignore[attr-defined]
    return lines[0]


def damaged(tmp_path: Path, kind: str) -> Path:
    text = ROWS.to_csv(index=False)
    files = {
        "cut_mid_row.csv": text[: len(text) - 40].encode(),
        "cut_in_quotes.csv": b'a,b,y\n1,"first",0\n2,"seco',
        "latin1.csv": "city,y\nZurich,1\nZ\u00fcrich,0\n".encode("latin-1"),
        "zero_bytes.csv": b"",
        "zero_bytes.parquet": b"",
        "not_parquet.parquet": b"PAR1 cut short",
        "repeated.csv": b"a,y,y\n1,0,0\n2,1,1\n",
    }
    path = tmp_path / kind
    if kind == "no_rows.parquet":
        ROWS.head(0).to_parquet(path)
    else:
        path.write_bytes(files[kind])
    return path


@pytest.mark.parametrize(("kind", "message"), [
    ("cut_mid_row.csv", r"ends in the middle of a row \(its last line has \d+ of 31 fields and no line break\), so it "
                        r"looks cut short; write the file again in full\."),
    ("cut_in_quotes.csv", r"ends inside a quoted field \(line 3\) without a line break, so it looks cut short"),
    ("latin1.csv", r"is not UTF-8 text \(byte 0xfc on line 3\); save it as UTF-8 \(e\.g\. iconv -f latin1 -t utf-8"),
    ("zero_bytes.csv", r"is empty \(0 bytes\); write it again or pass the file that holds the data\."),
    ("zero_bytes.parquet", r"is empty \(0 bytes\)"),
    ("no_rows.parquet", r"holds no rows; pass a file with data\."),
    ("not_parquet.parquet", r"is not a readable Parquet file \(.*\); it may be cut short or of another format"),
    ("repeated.csv", r"has the column name\(s\) \['y'\] more than once; give each column its own name"),
])
def test_damaged_data_files_are_one_sentence_naming_the_file(tmp_path: Path, kind: str, message: str) -> None:
    path = damaged(tmp_path, kind)
    with pytest.raises(InputError) as error:
        read_table(path, "data")
    text = str(error.value)
    assert text.startswith(f"data file {str(path)!r} ") and "\n" not in text, text
    assert re.search(message, text), text


def test_a_complete_csv_without_a_final_line_break_and_a_bom_csv_read_as_before(tmp_path: Path) -> None:
    complete = tmp_path / "complete.csv"
    complete.write_text(ROWS.to_csv(index=False).rstrip("\n"))
    assert read_table(complete).shape == ROWS.shape
    bom = tmp_path / "excel.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + ROWS.to_csv(index=False).encode())
    assert list(read_table(bom).columns) == list(ROWS.columns)  # not '\ufeffmean radius'


def test_a_damaged_data_file_stops_tune_in_one_line_and_keeps_the_earlier_model(tmp_path: Path) -> None:
    data = damaged(tmp_path, "cut_mid_row.csv")
    (tmp_path / "model.pkl").write_bytes(b"the user's earlier model")
    line = one_error_line(cli("tune", str(write_job(tmp_path, data=str(data))), "--quiet", cwd=tmp_path))
    assert f"error: data file {str(data)!r} ends in the middle of a row" in line
    assert (tmp_path / "model.pkl").read_bytes() == b"the user's earlier model" and not (tmp_path / "mlflow.db").exists()


#: A wrongly typed value for every field of the job file, and the words its message must use for the type.
WRONG = {
    "data": (5, "a file path"), "target": (3, "a string"), "task": (1, "a string"), "group_column": ([1], "a string"),
    "metric": (2.5, "a string"), "time_budget": ("soon", "a number greater than 0"), "strategy": (7, "a string"),
    "early_stop": (1, "a string"), "estimators": (5, "a list of family names"), "seed": ("abc", "an integer"),
    "tracking_uri": (3, "a string"), "experiment": (["x"], "a string"), "output": (4, "a file path"),
    "max_trials": ("many", "an integer of at least 1"), "eval_method": ("kfold", "one of 'auto', 'holdout', 'cv'"),
    "n_splits": (1.5, "an integer of at least 2"), "n_jobs": ("all", "an integer"), "tracking": ("maybe", "true or false"),
    "test_data": (1, "a file path"), "test_size": ("half", "a number greater than 0 and less than 1"),
    "search_space": ("lgbm", "a mapping of family names"), "register": (5, "a string"), "backend": (1, "a string"),
    "n_concurrent_trials": ("2x", "an integer of at least 1"), "resources_per_trial": (3, "a mapping of resource names"),
    "ray_address": (1, "a string"), "trial_retries": (-1, "an integer of at least 0"),
    "trial_timeout": ("long", "a number greater than 0"), "memory_limit_mb": (1.5, "an integer of at least 64"), "resume_from": (5, "a string"),
    "ensemble": (3, "true, false or 'auto'"), "time_column": (1, "a string"), "horizon": ("day", "an integer of at least 1"),
    "series_id_column": (4, "a column name or a list"), "season": (1.5, "an integer of at least 1"),
    "known_covariates": (3, "a column name or a list"), "constraints": (5, "a mapping of limits such as"),
    "device": (5, "'cpu' or 'cuda'"), "objectives": (3, "a list such as [score, predict_ms_per_row]"),
    "warm_start": (3, "true, false or the path of a portfolio file"),
}


def test_the_wrong_type_table_covers_every_job_field() -> None:
    assert set(WRONG) == {f.alias or name for name, f in JobSpec.model_fields.items()}


@pytest.mark.parametrize("field", sorted(WRONG))
def test_a_wrong_type_in_any_job_field_is_one_sentence(tmp_path: Path, field: str) -> None:
    value, expected = WRONG[field]
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"data": "data.csv", "target": "y", field: value}))
    with pytest.raises(InputError) as error:
        load_job(job, {})
    text = str(error.value)
    assert text.startswith(f"{job}: field {field!r} = {value!r} is invalid: expected {expected}"), text
    assert text.endswith(".") and "\n" not in text
    assert f"fix the field in {job}" in text


def test_a_wrong_flag_value_names_the_flag() -> None:
    with pytest.raises(InputError, match=r"^the command-line flags: field 'resources_per_trial' = 'cpu' is invalid: "
                                         r"expected a mapping of resource names to numbers .* \(expected key=value pairs "
                                         r"such as cpu=1,gpu=0.5, got 'cpu'\); fix the flag --resources-per-trial"):
        load_job(None, {"data": "d.csv", "target": "y", "resources_per_trial": "cpu"})


def test_a_wrong_type_from_the_job_file_reaches_the_user_in_one_line(tmp_path: Path) -> None:
    line = one_error_line(cli("tune", str(write_job(tmp_path, max_trials="many")), cwd=tmp_path))
    assert "field 'max_trials' = 'many' is invalid: expected an integer of at least 1; fix the field in" in line
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "model.pkl").exists()


@pytest.mark.parametrize(("field", "value"), [("group_column", "target"), ("time_column", "target"),
                                              ("series_id_column", ["shop", "target"]), ("known_covariates", ["target"])])
def test_the_target_named_as_a_key_or_covariate_is_refused_before_any_work(tmp_path: Path, field: str, value: object) -> None:
    spec = load_job(write_job(tmp_path, **{field: value}), {})
    with pytest.raises(InputError, match=rf"^{field}=.* names the target column 'target', which cannot also be a "
                                         rf"feature or key; remove it from {field}"):
        check_job(spec)


def test_an_output_over_the_data_or_in_a_missing_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    ROWS.to_csv(data, index=False)
    before = data.read_bytes()
    line = one_error_line(cli("tune", str(write_job(tmp_path, data=str(data))), "--output", str(data), cwd=tmp_path))
    assert f"output={str(data)!r} is the job's data file; choose another output path so the data is kept." in line
    assert data.read_bytes() == before
    with pytest.raises(InputError, match=r"output='.*nowhere/model.pkl' is in folder '.*nowhere', which does not exist"):
        check_job(load_job(write_job(tmp_path, output=str(tmp_path / "nowhere" / "model.pkl")), {}))


def test_x_holding_the_target_or_an_unnamed_column_is_refused() -> None:
    frame = ROWS[["mean radius", "mean texture", "target"]]
    with pytest.raises(InputError, match=r"X holds the target column 'target' as a feature, so the model would learn "
                                         r"the answer from it; drop it from X \(X.drop\(columns='target'\)\)\."):
        AutoML(max_trials=1, time_budget=None, tracking=False).fit(frame, frame["target"])
    unnamed = ROWS[["mean radius", "mean texture"]].rename(columns={"mean texture": ""})
    with pytest.raises(InputError, match=r"X has a column with an empty name \(position 1\), which MLflow's model "
                                         r"schema cannot hold; give every column a name\."):
        AutoML(max_trials=1, time_budget=None, tracking=False).fit(unnamed, ROWS["target"])


NAMES = ["a[0]", "b]", "c{x}", 'd"q"', "e:f", "g<h", "i,j", "k l", "\u00e9", "1", "x.y"]


@pytest.mark.slow
def test_names_lightgbm_xgboost_and_mlflow_reject_work_with_the_users_names_outside(
        tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    import automl

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri)  # where the pyfunc model is read back
    rng = np.random.default_rng(0)
    X = pd.DataFrame({name: rng.normal(size=150) for name in NAMES})
    X["kind[1]"] = rng.choice(["u", "v"], 150)
    y = pd.Series((X["a[0]"] + X["e:f"] > 0).astype(int), name="label")
    m = AutoML(estimators=["lgbm", "xgboost"], max_trials=2, time_budget=None, seed=0, tracking_uri=tracking_uri,
               experiment="special-names", n_jobs=1).fit(X, y)
    board = m.leaderboard()
    assert sorted(board["estimator"]) == ["lgbm", "xgboost"] and (board["status"] == "ok").all(), board
    served = mlflow.pyfunc.load_model(m.model_uri_)
    np.testing.assert_array_equal(np.asarray(served.predict(X.head(20))), m.predict(X.head(20)))
    assert served.metadata.get_input_schema().input_names()[:3] == ["a[0]", "b]", "c{x}"]
    assert mlflow.models.get_model_info(m.model_uri_).metadata["automl_version"] == automl.__version__


def test_forecast_covariates_with_names_lightgbm_rejects() -> None:
    n = 72
    ds = pd.date_range("2020-01-01", periods=n, freq="MS")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"d[s]": ds, "promo:{x}": rng.integers(0, 2, n).astype(float)})
    y = pd.Series(np.sin(np.arange(n) / 2) * 10 + 50 + X["promo:{x}"] * 3)
    m = AutoML(task="forecast", estimators=["lgbm"], max_trials=1, time_budget=None, tracking=False, n_jobs=1).fit(
        X, y, time_column="d[s]", horizon=6, known_covariates=["promo:{x}"])
    board = m.leaderboard()
    assert board["estimator"].tolist() == ["lgbm"] and board["status"].tolist() == ["ok"], board
    future = pd.DataFrame({"d[s]": pd.date_range(ds[-1], periods=7, freq="MS")[1:], "promo:{x}": 1.0})
    assert np.isfinite(m.predict(future)).all() and len(m.predict(future)) == 6
