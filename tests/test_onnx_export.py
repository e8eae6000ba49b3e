"""ONNX export: real models converted, run by onnxruntime and compared with the model itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pandas as pd
import pytest

from automl import AutoML, InputError
from automl.onnx_export import TOLERANCE
from automl.persistence import save_model
from tests.test_cli import cli


def fit_one(X: pd.DataFrame, y: pd.Series, family: str, **kwargs: object) -> AutoML:
    params = {"time_budget": None, "max_trials": 1, "estimators": [family], "seed": 0, "n_jobs": 1,
              "tracking": False, "ensemble": False, "eval_method": "holdout"}
    params.update(kwargs)
    return AutoML(**params).fit(X, y)  # type: ignore[arg-type]


def metadata(path: Path, key: str) -> object:
    return json.loads({p.key: p.value for p in onnx.load(str(path)).metadata_props}[key])


def run_onnx(path: Path, X: pd.DataFrame) -> list[np.ndarray]:
    """What a server does: onnxruntime on the columns the file names: numbers as one float32 tensor, each
    categorical column as its own tensor of texts (a missing value as "")."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    numeric = metadata(path, "input_columns")
    feeds = {"X": X[numeric].to_numpy(dtype=np.float32)} if numeric else {}
    for column in metadata(path, "categorical_columns"):
        feeds[column] = np.array([[""] if pd.isna(v) else [str(v)] for v in X[column]], dtype=object)
    return session.run(None, feeds)


@pytest.mark.parametrize("family", ["lgbm", "xgboost", "rf", "extra_trees", "lr"])
def test_a_classifier_round_trips(family: str, breast_cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    X, y = breast_cancer
    m = fit_one(X.iloc[:450], y.iloc[:450], family)
    exported = m.to_onnx(tmp_path / "model.onnx")
    assert exported.family == family and exported.rows_checked == 450 and exported.max_difference <= TOLERANCE
    assert exported.onnx_ms_per_row > 0 and exported.native_ms_per_row > 0
    label, probabilities = run_onnx(tmp_path / "model.onnx", X.iloc[450:])  # rows the check never saw
    assert np.abs(probabilities - m.predict_proba(X.iloc[450:])).max() < 1e-3  # float32 inputs: a tree split may move
    assert (m.classes_[label] == m.predict(X.iloc[450:])).mean() >= 0.99
    assert metadata(tmp_path / "model.onnx", "classes") == m.classes_.tolist()


@pytest.mark.parametrize("family", ["lgbm", "xgboost", "rf", "lr"])
def test_a_regressor_round_trips(family: str, diabetes: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    X, y = diabetes
    m = fit_one(X, y, family, task="regression")
    exported = m.to_onnx(tmp_path / "model.onnx", X)
    assert exported.max_difference <= TOLERANCE and exported.rows_checked == len(X)
    (variable,) = run_onnx(tmp_path / "model.onnx", X)
    assert np.allclose(variable.ravel(), m.predict(X), rtol=1e-4, atol=1e-3)


def test_a_multiclass_lightgbm_round_trips(wine_strings: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    X, y = wine_strings
    m = fit_one(X, y, "lgbm")
    assert m.to_onnx(tmp_path / "model.onnx").max_difference <= TOLERANCE
    label, probabilities = run_onnx(tmp_path / "model.onnx", X)
    assert probabilities.shape == (len(X), 3) and list(m.classes_[label]) == list(m.predict(X))


@pytest.mark.parametrize("family", ["lgbm", "xgboost", "rf", "extra_trees", "lr"])
def test_categorical_columns_are_inputs_of_their_own(family: str, mixed_frame: tuple[pd.DataFrame, pd.Series],
                                                     tmp_path: Path) -> None:
    """Strings, pandas categoricals and booleans with missing values: the feature transform is in the file, and
    a category not seen at fit (or a missing one) gets what the model gives a missing value."""
    X, y = mixed_frame
    X = X.drop(columns="when")
    m = fit_one(X.iloc[:300], y.iloc[:300], family)
    exported = m.to_onnx(tmp_path / "model.onnx", X.iloc[:300])
    assert exported.max_difference <= TOLERANCE
    assert metadata(tmp_path / "model.onnx", "categorical_columns") == ["colour", "size"]
    assert metadata(tmp_path / "model.onnx", "input_columns") == ["amount", "flag"]
    new = X.iloc[300:].copy()  # rows the check never saw, one colour never seen at fit
    new["colour"] = new["colour"].astype(object)
    new.iloc[:5, new.columns.get_loc("colour")] = "purple"
    label, probabilities = run_onnx(tmp_path / "model.onnx", new)
    assert np.abs(probabilities - m.predict_proba(new)).max() < 1e-3  # float32 inputs: a tree split may move
    assert (m.classes_[label] == m.predict(new)).mean() >= 0.99


def test_what_cannot_be_exported_is_one_sentence(mixed_frame: tuple[pd.DataFrame, pd.Series],
                                                 breast_cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    X, y = mixed_frame
    with pytest.raises(InputError, match="Column 'when' holds dates; ONNX export takes numeric, boolean and "
                                         "categorical columns"):
        fit_one(X, y, "lgbm").to_onnx(tmp_path / "model.onnx")
    X, y = breast_cancer
    with pytest.raises(InputError, match="The shipped model is 'mlp', which ONNX export does not cover; it covers lgbm"):
        fit_one(X, y, "mlp").to_onnx(tmp_path / "model.onnx")
    ensemble = AutoML(time_budget=None, max_trials=6, estimators=["lr", "lgbm"], ensemble=True, tracking=False,
                      seed=0).fit(X, y)
    assert ensemble.ensemble_ is not None
    with pytest.raises(InputError, match="The shipped model is 'ensemble', which ONNX export does not cover"):
        ensemble.to_onnx(tmp_path / "model.onnx")
    assert not (tmp_path / "model.onnx").exists()


def test_automl_export_writes_a_checked_onnx_file(breast_cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    X, y = breast_cancer
    m = fit_one(X, y, "lgbm")
    save_model(m, tmp_path / "model.pkl")  # what `automl tune --output` writes
    assert m.to_onnx(tmp_path / "live.onnx").rows_checked == 569  # saving kept the live model's check rows
    X.assign(target=y).to_csv(tmp_path / "train.csv", index=False)
    loaded_without_rows = cli("export", "model.pkl", "--data", "train.csv", "--out", "model.onnx", cwd=tmp_path)
    assert loaded_without_rows.returncode == 0, loaded_without_rows.stderr
    assert "Wrote model.onnx (lgbm" in loaded_without_rows.stdout and "onnxruntime agrees with the model on 569 rows" in \
        loaded_without_rows.stdout
    label, _ = run_onnx(tmp_path / "model.onnx", X)
    assert (m.classes_[label] == m.predict(X)).mean() >= 0.99
    import pickle

    assert "_export_rows" not in pickle.loads((tmp_path / "model.pkl").read_bytes()).__dict__  # no training rows in the file
    bad = cli("export", "model.pkl", "--data", "train.csv", "--out", "model.onnx", "--format", "pmml", cwd=tmp_path)
    assert bad.returncode != 0 and "--format 'pmml' is not an export format; pass one of: onnx." in bad.stderr


def test_xgboost_categorical_chains_are_numbered_as_onnxmltools_numbers_them_walking_each_node_once() -> None:
    """onnxmltools turns a categorical split into a chain of equality nodes sharing one "yes" subtree, and its
    numbering walks that subtree once per chain node (nested splits: exponentially often); the export numbers each
    node once, with the same numbers, and puts the converter's own function back."""
    import xgboost
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import XGBConverter

    from automl.onnx_export import _xgboost_subtrees_numbered_once

    rng = np.random.default_rng(0)
    codes = {c: rng.integers(0, 12, 800) for c in "abc"}
    X = pd.DataFrame({c: pd.Categorical(v.astype(str)) for c, v in codes.items()})
    y = (codes["a"] % 3) * (codes["b"] % 4) + (codes["c"] % 5) + rng.normal(0, 0.1, 800)
    model = xgboost.XGBRegressor(n_estimators=4, max_depth=6, enable_categorical=True, tree_method="hist",
                                 max_cat_to_onehot=1).fit(X, y)
    dump = model.get_booster().get_dump(with_stats=True, dump_format="json")
    trees = XGBConverter._process_categorical_features([json.loads(s) for s in dump])

    def walks(node: dict, seen: list) -> None:
        seen.append(node["nodeid"])
        for child in node.get("children", []):
            walks(child, seen)

    seen: list = []
    walks(trees[0], seen)
    assert len(seen) > len(set(seen))  # chains share subtrees: a plain walk meets nodes again
    original = XGBConverter.__dict__["_remap_nodeid"]
    expected = [list(XGBConverter._remap_nodeid(tree).items()) for tree in trees]
    with _xgboost_subtrees_numbered_once():
        assert [list(XGBConverter._remap_nodeid(tree).items()) for tree in trees] == expected
    assert XGBConverter.__dict__["_remap_nodeid"] is original
