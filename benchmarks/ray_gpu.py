"""The Ray backend's GPU path on a machine with a GPU: what each trial saw and ran on.

    python -m benchmarks.ray_gpu --out benchmarks/results/ray_gpu.json

Runs the same LightGBM job (30,000 x 40 synthetic rows, holdout, random
search) on Ray three times: 2 concurrent trials of {"cpu": 2, "gpu": 0.5},
2 of {"cpu": 2} (no GPU), XGBoost with {"cpu": 2, "gpu": 0.5}, and the
PyTorch MLP with and without a GPU (up to 32 epochs). A custom metric runs
inside each trial's worker and records what the worker was given:
CUDA_VISIBLE_DEVICES, whether torch sees a GPU there, the estimator's device
(for the MLP, the device it trained on) and its thread count. MLflow tracking is off (the GPU image has no
MLflow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from automl import AutoML

#: At most 300 boosting rounds, so six trials stay short on a CPU as well.
SMALL = {family: {"n_estimators": {"high": 300}} for family in ("lgbm", "xgboost")} | {"mlp": {"epochs": {"high": 32}}}


def probe(X_val: Any, y_val: Any, estimator: Any, labels: Any, *args: Any) -> tuple[float, dict[str, float]]:
    """Log loss, plus what this trial's worker was given (numbers, as MLflow metrics would be)."""
    from sklearn.metrics import log_loss

    try:
        import torch

        torch_gpus = torch.cuda.device_count()
    except ImportError:
        torch_gpus = -1
    params = estimator.get_params()
    network = getattr(estimator, "named_steps", {}).get("mlp")
    device = str(getattr(network, "trained_on_", None) or params.get("device_type") or params.get("device") or "cpu")
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return log_loss(y_val, estimator.predict_proba(X_val), labels=labels), {
        "on_gpu": float(device in ("gpu", "cuda") or device.startswith("cuda:")), "torch_gpus_visible": float(torch_gpus),
        "cuda_visible_devices_set": float(bool(visible)),
        "threads": float(params.get("n_jobs") or params.get("mlp__n_jobs") or 0),
    }


def run(X: pd.DataFrame, y: pd.Series, estimator: str, resources: dict[str, float]) -> dict[str, Any]:
    started = time.monotonic()
    m = AutoML(metric=probe, estimators=[estimator], search_space=SMALL, strategy="random", early_stop=None, eval_method="holdout",
               time_budget=None, max_trials=6, tracking=False, seed=0, backend="ray", n_concurrent_trials=2,
               resources_per_trial=resources)
    try:
        m.fit(X, y)
    except Exception as exc:  # noqa: BLE001 - recorded: what failed is part of the finding
        return {"estimator": estimator, "resources": resources, "error": f"{type(exc).__name__}: {exc}"}
    trials = m.study_.trials
    return {
        "estimator": estimator, "resources": resources, "fit_wall_s": round(time.monotonic() - started, 2),
        "statuses": [t.status for t in trials], "errors": sorted({t.error for t in trials if t.error})[:3],
        "workers": sorted({t.worker for t in trials}),
        "trials_on_gpu": int(sum(t.metrics.get("on_gpu", 0) for t in trials)),
        "torch_gpus_visible_in_worker": sorted({t.metrics.get("torch_gpus_visible") for t in trials if t.metrics}),
        "threads": sorted({t.metrics.get("threads") for t in trials if t.metrics}),
        "median_fit_s": round(float(np.median([t.fit_time_s for t in trials])), 3),
        "best_log_loss": m.best_score_,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    X, y = make_classification(n_samples=30_000, n_features=40, n_informative=20, random_state=0)
    X, y = pd.DataFrame(X).add_prefix("x"), pd.Series(y)
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        gpu = "unknown (no torch)"
    import xgboost

    xgboost_cuda = bool(xgboost.build_info().get("USE_CUDA"))
    record = {
        "command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks.ray_gpu", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "gpu": gpu, "xgboost_built_with_cuda": xgboost_cuda},
        "runs": [run(X, y, "lgbm", {"cpu": 2, "gpu": 0.5}), run(X, y, "lgbm", {"cpu": 2}),
                 run(X, y, "xgboost", {"cpu": 2, "gpu": 0.5}),
                 run(X, y, "mlp", {"cpu": 2, "gpu": 0.5}), run(X, y, "mlp", {"cpu": 2})],
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
