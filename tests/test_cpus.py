"""The CPUs this process may use: affinity capped by a cgroup CPU quota (read from files standing in for a cgroup root),
for n_jobs=-1 and for the local Ray automl starts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from automl.cpus import available_cpus, cgroup_cpu_limit
from automl.params import resolve_n_jobs


def cgroup(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("files,cpus", [
    ({"cpu.max": "200000 100000\n"}, 2),                 # cgroup v2, docker --cpus=2
    ({"cpu.max": "150000 100000\n"}, 2),                 # 1.5 CPUs: two threads, rounded up
    ({"cpu.max": "20000 100000\n"}, 1),                  # a fifth of a CPU: still one thread
    ({"cpu.max": "max 100000\n"}, None),                 # v2 without a quota
    ({"cpu/cpu.cfs_quota_us": "300000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 3),        # cgroup v1
    ({"cpu,cpuacct/cpu.cfs_quota_us": "50000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 1),
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),          # v1 without a quota
    ({}, None),                                          # no cgroup files at all
    ({"cpu.max": "garbled\n"}, None),
])
def test_the_cgroup_quota_is_read_from_either_version(tmp_path: Path, files: dict[str, str], cpus: int | None) -> None:
    assert cgroup_cpu_limit(cgroup(tmp_path, files)) == cpus


def test_available_cpus_are_the_affinity_capped_by_the_quota(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    assert available_cpus(cgroup(tmp_path / "one", {"cpu.max": "100000 100000"})) == 1
    assert available_cpus(cgroup(tmp_path / "many", {"cpu.max": f"{(affinity + 8) * 100000} 100000"})) == affinity
    assert available_cpus(cgroup(tmp_path / "none", {"cpu.max": "max 100000"})) == affinity
    assert resolve_n_jobs(-1) == available_cpus() <= affinity


@pytest.mark.slow
def test_the_local_ray_automl_starts_has_the_cpus_this_process_may_use(tmp_path: Path) -> None:
    """Under an affinity of one core, Ray's own count (every core of the machine) would run two trials at once."""
    script = textwrap.dedent("""
        import os, sys
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        import ray
        from sklearn.datasets import load_breast_cancer
        from automl import AutoML
        seen = []
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        AutoML(time_budget=None, max_trials=1, estimators=["lr"], tracking=False, backend="ray",
               callbacks=[lambda study, trial: seen.append(ray.cluster_resources()["CPU"])]).fit(X, y)
        print("cluster CPUs:", seen[0])
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "cluster CPUs: 1.0" in done.stdout, done.stdout
