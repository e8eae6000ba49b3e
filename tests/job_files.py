"""Job folders for command-line tests: a job file next to a copy of the bundled breast-cancer data."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def job_folder(tmp_path: Path, **fields: object) -> Path:
    folder = tmp_path / "job"
    (folder / "data").mkdir(parents=True)
    shutil.copy(REPO / "examples" / "data" / "breast_cancer.csv", folder / "data" / "breast_cancer.csv")
    job = {"data": "data/breast_cancer.csv", "target": "target", "time_budget": 15, "n_concurrent_trials": 2,
           "experiment": "submitted", **fields}
    (folder / "job.yaml").write_text(yaml.safe_dump(job))
    return folder / "job.yaml"
