"""device="cuda": where no GPU is visible it is one sentence before any work, never a silent CPU run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from automl import AutoML, InputError
from tests.test_cli import cli


@pytest.mark.parametrize("hidden", ["", "-1"])
def test_cuda_where_every_gpu_is_hidden_is_one_sentence(hidden: str, breast_cancer: tuple[pd.DataFrame, pd.Series],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", hidden)
    X, y = breast_cancer
    with pytest.raises(InputError, match=rf"device=\"cuda\", but this process sees no CUDA GPU \(CUDA_VISIBLE_DEVICES="
                                         rf"'{hidden}' hides every GPU\); pass device=\"cpu\" or run on a machine with a GPU\."):
        AutoML(device="cuda", time_budget=None, max_trials=1, tracking=False).fit(X, y)


@pytest.mark.parametrize("device, backend, message", [
    ("tpu", "inprocess", 'device=\'tpu\' is invalid; pass "cpu" or "cuda".'),
    ("cuda", "ray", 'device="cuda" is for the in-process backend; on Ray give trials GPUs with resources_per_trial'),
])
def test_bad_device_settings_are_one_sentence(device: str, backend: str, message: str,
                                              breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, y = breast_cancer
    with pytest.raises(InputError) as error:
        AutoML(device=device, backend=backend, time_budget=None, max_trials=1, tracking=False).fit(X, y)
    assert str(error.value).startswith(message)


def test_the_cli_checks_the_device_before_reading_the_data(tmp_path: Path) -> None:
    result = cli("tune", "--data", "missing.csv", "--target", "y", "--device", "cuda", "--dry-run", cwd=tmp_path,
                 env={"CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode != 0 and 'device="cuda", but this process sees no CUDA GPU' in result.stderr
