"""The CPUs this process may use: its CPU affinity, capped by its cgroup's CPU quota (a container's ``--cpus``)."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: Where cgroup v1 mounts the CPU controller under the root (docker bind-mounts the container's own group there).
_V1_FOLDERS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> int | None:
    """CPUs the cgroup CPU quota under ``root`` allows, rounded up; None where no quota is set or readable.

    cgroup v2: ``cpu.max`` ("200000 100000", or "max 100000" for none); cgroup v1:
    ``cpu.cfs_quota_us`` (-1 for none) over ``cpu.cfs_period_us`` in the CPU controller's folder.
    """
    text = _read(root / "cpu.max")
    if text is not None:
        quota, _, period = text.partition(" ")  # "max 100000" or "200000 100000"
        return _cpus(quota, period)
    for folder in _V1_FOLDERS:
        quota, period = _read(root / folder / "cpu.cfs_quota_us"), _read(root / folder / "cpu.cfs_period_us")
        if quota is not None and period is not None:
            return _cpus(quota, period)
    return None


def available_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """Threads that run at once without oversubscribing: the affinity's CPUs, at most the cgroup quota, at least 1."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limit = cgroup_cpu_limit(cgroup_root)
    return max(1, min(affinity, limit) if limit is not None else affinity)


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cpus(quota: str, period: str) -> int | None:
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max", or a file we do not understand
        return None
    return max(1, math.ceil(quota_us / period_us)) if quota_us > 0 and period_us > 0 else None
