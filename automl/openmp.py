"""The process's OpenMP runtimes: the calling thread's thread pools are released before trials run in threads.

libgomp keeps a pool of worker threads for each thread that ran a parallel region. When the threads of all its
pools outnumber the CPUs it stops spin-waiting between regions (its "throttled" wait), and LightGBM and XGBoost,
which run thousands of short parallel regions per fit, then slow down 5 to 14 times. A thread that used OpenMP
before the search (the caller's main thread after an earlier job's refit, a ``predict``, or the user's own
LightGBM) keeps its pool for the life of the process, so each trial thread's pool pushes the count past the
CPUs: a second job in one process ran 28 trials where the same job alone ran 73 (``python -m
benchmarks.openmp_pools`` measures a fit in a thread before and after). ``omp_pause_resource_all`` (OpenMP 5.0)
frees the calling thread's pool; the runtime makes a new one the next time that thread uses OpenMP, so nothing
the caller set changes.
"""

from __future__ import annotations

import ctypes
import logging

from threadpoolctl import threadpool_info

logger = logging.getLogger(__name__)
#: ``omp_pause_soft``: resources are released, the runtime's settings are kept.
OMP_PAUSE_SOFT = 1


def release_thread_pools() -> list[str]:
    """Release the calling thread's OpenMP thread pools in every OpenMP runtime loaded in the process; the paths of
    the runtimes that released them (a runtime without ``omp_pause_resource_all`` is left as it is)."""
    released = []
    for info in threadpool_info():
        if info.get("user_api") != "openmp":
            continue
        try:
            pause = ctypes.CDLL(info["filepath"]).omp_pause_resource_all
        except (OSError, AttributeError):
            continue
        pause.argtypes, pause.restype = [ctypes.c_int], ctypes.c_int
        if pause(OMP_PAUSE_SOFT) == 0:
            released.append(info["filepath"])
        else:
            logger.debug("%s did not release its threads (inside a parallel region?)", info["filepath"])
    return released
