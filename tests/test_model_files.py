"""Model files: the manifest checked before unpickling, MLflow URIs that do not resolve, outputs kept until replaced."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import pandas as pd
import pytest

import automl
from automl import InputError, load_model, save_model
from automl.atomic import replacing
from automl.manifest import manifest_path
from tests.test_bad_input import one_error_line
from tests.test_cli import EXAMPLE, cli, write_job


class Payload:
    """A pickle that runs code when loaded: unpickling it creates the folder ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.mkdir, (str(self.marker),))


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the model ``automl tune`` wrote (one lr trial, no tracking) and rows to predict."""
    folder = tmp_path_factory.mktemp("tuned")
    result = cli("tune", str(write_job(folder, estimators=["lr"], max_trials=1, tracking=False)), "--quiet", cwd=folder)
    assert result.returncode == 0, result.stderr
    pd.read_csv(EXAMPLE).drop(columns="target").head(5).to_csv(folder / "rows.csv", index=False)
    return folder


def copy_model(tuned: Path, tmp_path: Path, manifest: bool = True) -> Path:
    shutil.copy(tuned / "model.pkl", tmp_path / "model.pkl")
    if manifest:
        shutil.copy(manifest_path(tuned / "model.pkl"), manifest_path(tmp_path / "model.pkl"))
    return tmp_path / "model.pkl"


def test_tune_writes_a_manifest_that_vouches_for_its_model(tuned: Path) -> None:
    manifest = json.loads(manifest_path(tuned / "model.pkl").read_text())
    data = (tuned / "model.pkl").read_bytes()
    assert manifest["format"] == "automl-model" and manifest["automl_version"] == automl.__version__
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest() and manifest["bytes"] == len(data)
    assert manifest["model"] == "AutoML" and "hmac_sha256" not in manifest  # no AUTOML_MODEL_KEY in the tests
    assert load_model(tuned / "model.pkl").predict(pd.read_csv(tuned / "rows.csv")).shape == (5,)


def test_a_foreign_pickle_is_refused_before_it_is_unpickled_and_the_out_file_is_kept(tuned: Path, tmp_path: Path) -> None:
    marker = tmp_path / "code-ran"
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    (tmp_path / "pred.csv").write_text("earlier predictions\n")
    line = one_error_line(cli("predict", "--model", "model.pkl", "--data", str(tuned / "rows.csv"), "--out", "pred.csv",
                              cwd=tmp_path))
    assert line == ("error: model file 'model.pkl' has no manifest 'model.pkl.manifest.json' next to it, so nothing shows "
                    "it is a model that automl wrote, and unpickling a file can run any code; re-run `automl tune` to write "
                    "both, or pass --trust-model (load_model(path, trust=True) in Python) if the file comes from a source "
                    "you trust.")
    assert not marker.exists()
    assert (tmp_path / "pred.csv").read_text() == "earlier predictions\n"


@pytest.mark.parametrize(("damage", "message"), [
    ("corrupt", r"has no manifest 'model.pkl.manifest.json' next to it"),
    ("changed", r"does not match its manifest \(sha256 [0-9a-f]{12}\.\.\., the manifest records [0-9a-f]{12}\.\.\.\), so it "
                r"was changed or replaced after automl wrote it; re-run `automl tune`, or pass --trust-model"),
    ("old_version", r"was written by automl 0\.0\.9, which automl 0\.1\.0 does not load \(models load within one "
                    r"major\.minor version\); re-run `automl tune` with this version, or install automl 0\.0\.9"),
    ("bad_manifest", r"manifest '.*model.pkl.manifest.json' of model file '.*model.pkl' is not an automl model manifest"),
])
def test_a_model_file_its_manifest_does_not_vouch_for_is_refused(tuned: Path, tmp_path: Path, damage: str,
                                                                  message: str) -> None:
    path = copy_model(tuned, tmp_path, manifest=damage != "corrupt")
    manifest = manifest_path(path)
    if damage == "corrupt":
        path.write_bytes(b"\x80\x05 not a pickle")
    elif damage == "changed":
        path.write_bytes(path.read_bytes() + b"\x00")
    elif damage == "old_version":
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "automl_version": "0.0.9"}))
    else:
        manifest.write_text("{not json")
    with pytest.raises(InputError, match=message):
        load_model(path)


def test_trust_model_skips_the_manifest_and_still_names_what_is_wrong(tuned: Path, tmp_path: Path) -> None:
    path = copy_model(tuned, tmp_path, manifest=False)
    assert load_model(path, trust=True).predict(pd.read_csv(tuned / "rows.csv")).shape == (5,)
    path.write_bytes(b"\x80\x05 not a pickle")
    with pytest.raises(InputError, match=r"model file '.*model.pkl' could not be unpickled \(.*\); it must be a model "
                                         r"written by `automl tune` with this automl version\."):
        load_model(path, trust=True)
    path.write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(InputError, match=r"holds a dict, not a model; pass a file written by `automl tune`\."):
        load_model(path, trust=True)


def test_predict_with_trust_model_loads_a_file_without_manifest(tuned: Path, tmp_path: Path) -> None:
    copy_model(tuned, tmp_path, manifest=False)
    result = cli("predict", "--model", "model.pkl", "--data", str(tuned / "rows.csv"), "--out", "pred.csv",
                 "--trust-model", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert len(pd.read_csv(tmp_path / "pred.csv")) == 5


def test_a_signing_key_makes_unsigned_and_foreign_signed_models_fail(tuned: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model(tuned / "model.pkl")
    monkeypatch.setenv("AUTOML_MODEL_KEY", "key-one")
    with pytest.raises(InputError, match=r"is not signed, and AUTOML_MODEL_KEY is set, so only models signed with that "
                                         r"key load; re-run `automl tune` with AUTOML_MODEL_KEY set"):
        load_model(tuned / "model.pkl")
    signed = save_model(model, tmp_path / "signed.pkl")
    assert "hmac_sha256" in json.loads(manifest_path(signed).read_text())
    assert load_model(signed).predict(pd.read_csv(tuned / "rows.csv")).shape == (5,)
    monkeypatch.setenv("AUTOML_MODEL_KEY", "key-two")
    with pytest.raises(InputError, match=r"was not signed with the key in AUTOML_MODEL_KEY \(another key, or the file "
                                         r"changed after signing\)"):
        load_model(signed)


def test_bad_predict_data_and_outputs_keep_the_users_files(tuned: Path, tmp_path: Path) -> None:
    copy_model(tuned, tmp_path)
    (tmp_path / "pred.csv").write_text("earlier predictions\n")
    (tmp_path / "rows.csv").write_bytes("a,b\nZ\u00fcrich,1\n".encode("latin-1"))
    line = one_error_line(cli("predict", "--model", "model.pkl", "--data", "rows.csv", "--out", "pred.csv", cwd=tmp_path))
    assert line.startswith("error: data file 'rows.csv' is not UTF-8 text (byte 0xfc on line 2)")
    assert (tmp_path / "pred.csv").read_text() == "earlier predictions\n"
    shutil.copy(tuned / "rows.csv", tmp_path / "rows.csv")
    line = one_error_line(cli("predict", "--model", "model.pkl", "--data", "rows.csv", "--out", "rows.csv", cwd=tmp_path))
    assert line == "error: --out 'rows.csv' is the --data file; choose another path so that file is kept."
    assert (tmp_path / "rows.csv").read_bytes() == (tuned / "rows.csv").read_bytes()


def test_an_existing_file_is_kept_when_its_replacement_fails_midway(tuned: Path, tmp_path: Path) -> None:
    path = copy_model(tuned, tmp_path)
    before = path.read_bytes(), manifest_path(path).read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - pickling a lambda fails inside pickle
        save_model({"predict": lambda rows: rows}, path)
    assert (path.read_bytes(), manifest_path(path).read_bytes()) == before
    with pytest.raises(RuntimeError, match="disk full"):
        with replacing(tmp_path / "pred.csv") as temporary:
            temporary.write_text("half of the new predic")
            raise RuntimeError("disk full")
    assert not (tmp_path / "pred.csv").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "model.pkl", "model.pkl.manifest.json"]


def test_mlflow_uris_that_do_not_resolve_are_one_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow

    missing = tmp_path / "no-such.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{missing}")
    with pytest.raises(InputError, match=rf"model 'runs:/0123456789abcdef/model' cannot be in the MLflow store "
                                         rf"'sqlite:///{missing}', which does not exist; set MLFLOW_TRACKING_URI"):
        load_model("runs:/0123456789abcdef/model")
    assert not missing.exists()  # looking did not create an empty store
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    mlflow.MlflowClient(store).search_experiments()  # a real, empty store
    for uri, why in (("runs:/0123456789abcdef/model", "Run with id=0123456789abcdef not found"),
                     ("models:/no-such-model/1", "Registered Model with name=no-such-model not found")):
        with pytest.raises(InputError) as error:
            load_model(uri)
        assert str(error.value) == (f"model {uri!r} is not in the MLflow store {store!r} ({why}); check the URI, and set "
                                    "MLFLOW_TRACKING_URI to the store the model was logged in.")


def test_an_mlflow_model_logged_by_another_automl_version_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow
    from sklearn.dummy import DummyClassifier

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    estimator = DummyClassifier().fit([[0], [1]], [0, 1])
    experiment = mlflow.MlflowClient(store).create_experiment("logged", artifact_location=str(tmp_path / "artifacts"))
    with mlflow.start_run(experiment_id=experiment):
        old = mlflow.sklearn.log_model(estimator, name="model", metadata={"automl_version": "0.0.9"}).model_uri
        foreign = mlflow.sklearn.log_model(estimator, name="plain").model_uri
    with pytest.raises(InputError, match=rf"^model {old!r} was logged by automl 0\.0\.9, which automl 0\.1\.0 does not "
                                         r"load \(models load within one major\.minor version\)"):
        load_model(old)
    assert load_model(foreign).predict(pd.DataFrame({"x": [0]})).shape == (1,)  # MLflow's own models load as before
