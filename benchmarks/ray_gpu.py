"""The Ray backend's GPU path on a machine with a GPU: what each trial saw and where it trained.

    python -m benchmarks.ray_gpu --out benchmarks/results/ray_gpu.json

Runs one job (30,000 x 40 synthetic rows, holdout, random search, 6 trials, 2
concurrent) on Ray five times: LightGBM with {"cpu": 2, "gpu": 0.5} and with
{"cpu": 2} (no GPU), XGBoost with {"cpu": 2, "gpu": 0.5}, and the PyTorch MLP
(up to 32 epochs) with and without a GPU. Per run it records:

- where each trial's model actually trained, from the trial record
  (``Trial.device``, the MLflow tag ``automl.device``: XGBoost's booster
  config, LightGBM's device_type, the MLP's device), counted in
  ``devices`` and ``trials_on_gpu``; a trial given a GPU that trained on the
  CPU counts as a CPU trial;
- what each trial's worker was given, from a custom metric that runs inside
  the worker: CUDA_VISIBLE_DEVICES, how many GPUs torch sees there, the
  estimator's thread count;
- which processes used the GPU meanwhile: ``nvidia-smi
  --query-compute-apps=pid,used_memory --format=csv,noheader`` sampled by a
  background thread every ``--interval`` seconds, per pid (samples seen, most
  memory used), matched to the run's Ray workers (pid@host of each trial).
  Without nvidia-smi the record says so.

MLflow tracking is off (the GPU image has no MLflow).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification

from automl import AutoML

#: At most 300 boosting rounds, so six trials stay short on a CPU as well.
SMALL = {family: {"n_estimators": {"high": 300}} for family in ("lgbm", "xgboost")} | {"mlp": {"epochs": {"high": 32}}}


#: What the sampler asks nvidia-smi, once per interval.
NVIDIA_SMI_QUERY = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader"]


class GpuSampler:
    """Samples nvidia-smi's compute processes in a background thread while a run goes on."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.samples = 0
        self.by_pid: dict[int, dict[str, Any]] = {}
        self.errors: Counter[str] = Counter()
        self.available = False  # whether nvidia-smi was on PATH when the run started
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nvidia-smi sampler", daemon=True)

    def __enter__(self) -> "GpuSampler":
        self.available = shutil.which(NVIDIA_SMI_QUERY[0]) is not None
        if self.available:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def sample(self) -> None:
        """One call of nvidia-smi; each compute process it lists counts one sample for its pid."""
        try:
            done = subprocess.run(NVIDIA_SMI_QUERY, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.errors[f"{type(exc).__name__}: {exc}"] += 1
            return
        if done.returncode != 0:
            self.errors[f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[:200]}"] += 1
            return
        self.samples += 1
        for line in done.stdout.splitlines():
            pid, _, memory = (part.strip() for part in line.partition(","))
            if not pid.isdigit():
                continue
            seen = self.by_pid.setdefault(int(pid), {"samples": 0, "max_used_mib": None})
            seen["samples"] += 1
            used = memory.split()[0] if memory else ""
            if used.isdigit():  # "540 MiB"; "[N/A]" where the driver does not tell
                seen["max_used_mib"] = max(int(used), seen["max_used_mib"] or 0)

    def record(self, worker_pids: set[int]) -> dict[str, Any]:
        """What was seen, and which of ``worker_pids`` (the run's Ray workers) were among the GPU's processes."""
        if not self.available:
            return {"how": " ".join(NVIDIA_SMI_QUERY), "available": False, "reason": "nvidia-smi is not on PATH"}
        return {
            "how": f"{' '.join(NVIDIA_SMI_QUERY)}, every {self.interval_s:g} s during the run", "available": True,
            "samples": self.samples, "errors": dict(self.errors),
            "by_pid": {str(pid): seen for pid, seen in sorted(self.by_pid.items())},
            "worker_pids_on_gpu": sorted(worker_pids & set(self.by_pid)),
            "worker_pids_not_seen": sorted(worker_pids - set(self.by_pid)),
        }


def probe(X_val: Any, y_val: Any, estimator: Any, labels: Any, *args: Any) -> tuple[float, dict[str, float]]:
    """Log loss, plus what this trial's worker was given (numbers, as MLflow metrics would be)."""
    from sklearn.metrics import log_loss

    try:
        import torch

        torch_gpus = torch.cuda.device_count()
    except ImportError:
        torch_gpus = -1
    params = estimator.get_params()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return log_loss(y_val, estimator.predict_proba(X_val), labels=labels), {
        "torch_gpus_visible": float(torch_gpus), "cuda_visible_devices_set": float(bool(visible)),
        "threads": float(params.get("n_jobs") or params.get("mlp__n_jobs") or 0),
    }


def on_gpu(device: str) -> bool:
    """Whether a trial's recorded device (``Trial.device``) is a GPU."""
    return device.startswith(("cuda", "gpu"))


def run(X: pd.DataFrame, y: pd.Series, estimator: str, resources: dict[str, float], interval_s: float) -> dict[str, Any]:
    started = time.monotonic()
    m = AutoML(metric=probe, estimators=[estimator], search_space=SMALL, strategy="random", early_stop=None, eval_method="holdout",
               time_budget=None, max_trials=6, tracking=False, seed=0, backend="ray", n_concurrent_trials=2,
               resources_per_trial=resources)
    error = None
    with GpuSampler(interval_s) as sampler:
        try:
            m.fit(X, y)
        except Exception as exc:  # noqa: BLE001 - recorded: what failed is part of the finding
            error = f"{type(exc).__name__}: {exc}"
    if error is not None:
        return {"estimator": estimator, "resources": resources, "error": error, "gpu_processes": sampler.record(set())}
    trials = m.study_.trials
    workers = sorted({t.worker for t in trials if t.worker})
    return {
        "estimator": estimator, "resources": resources, "fit_wall_s": round(time.monotonic() - started, 2),
        "statuses": [t.status for t in trials], "errors": sorted({t.error for t in trials if t.error})[:3],
        "workers": workers,
        "devices": dict(sorted(Counter(t.device or "not recorded" for t in trials).items())),
        "trials_on_gpu": sum(on_gpu(t.device) for t in trials),
        "torch_gpus_visible_in_worker": sorted({t.metrics.get("torch_gpus_visible") for t in trials if t.metrics}),
        "threads": sorted({t.metrics.get("threads") for t in trials if t.metrics}),
        "median_fit_s": round(float(np.median([t.fit_time_s for t in trials])), 3),
        "best_log_loss": m.best_score_,
        "gpu_processes": sampler.record({int(w.split("@")[0]) for w in workers}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="where to write the JSON record (it is printed either way)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between nvidia-smi samples (default 1)")
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
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "gpu": gpu, "xgboost_built_with_cuda": xgboost_cuda},
        "runs": [run(X, y, estimator, resources, args.interval) for estimator, resources in (
            ("lgbm", {"cpu": 2, "gpu": 0.5}), ("lgbm", {"cpu": 2}), ("xgboost", {"cpu": 2, "gpu": 0.5}),
            ("mlp", {"cpu": 2, "gpu": 0.5}), ("mlp", {"cpu": 2}),
        )],
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
