"""Deployment limits on a trial's fitted model: prediction latency and size, measured the same way for every trial.

``constraints={"predict_ms_per_row": 0.02, "model_mb": 5}`` (job file ``constraints:``, CLI
``--max-predict-ms-per-row`` / ``--max-model-mb``). Each ok trial's model (its last validation fold's) is
measured by :func:`measure`: the median over :data:`REPEATS` timed predictions of a batch of ``batch_rows``
validation rows (default 1,000, repeated when the fold has fewer), per row, with the trial's threads on this
machine; the median single-row latency; and the size of the pickled model in MB. The job's feature transform (raw rows in,
as the shipped model serves them) is timed once per job and added to every trial's latencies, so a trial's
figures are what its model would answer in. A trial that breaks a limit
is ``infeasible``: recorded with its score and measurements, never the best model.
"""

from __future__ import annotations

import math
import pickle
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from automl.errors import InputError

#: The limits a user may set, and what each measures.
LIMITS = {
    "predict_ms_per_row": "milliseconds per row to predict a batch of batch_rows rows",
    "model_mb": "megabytes of the pickled model",
}
#: Timed predictions per measurement (the median is kept); one untimed call warms caches first.
REPEATS = 5
DEFAULT_BATCH_ROWS = 1000


@dataclass(frozen=True)
class Constraints:
    """Upper limits on the measured values of a trial's model (None: no limit)."""

    predict_ms_per_row: float | None = None
    model_mb: float | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS

    def limits(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in LIMITS if getattr(self, name) is not None}

    def excess(self, measured: Mapping[str, float]) -> list[float]:
        """Per limit, how far the measurement is past it as a share of the limit (<= 0: within it)."""
        return [measured[name] / limit - 1.0 if name in measured else 0.0 for name, limit in self.limits().items()]

    def broken(self, measured: Mapping[str, float]) -> list[str]:
        """One phrase per broken limit, e.g. "predict_ms_per_row 0.031 > 0.02"."""
        return [f"{name} {measured[name]:.4g} > {limit:g}" for name, limit in self.limits().items()
                if name in measured and measured[name] > limit]

    def as_params(self) -> dict[str, Any]:
        """The limits as job parameters (for the MLflow record)."""
        return {f"constraint_{name}": limit for name, limit in self.limits().items()} | {
            "constraint_batch_rows": self.batch_rows}

    def describe(self) -> str:
        return ", ".join(f"{name} <= {limit:g}" for name, limit in self.limits().items())


def parse_constraints(value: Mapping[str, Any] | None) -> Constraints | None:
    """``constraints`` as given (a dict, or None), checked: one sentence per problem."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError(f"constraints={value!r} is invalid; pass a dict such as "
                         '{"predict_ms_per_row": 0.02, "model_mb": 5}.')
    allowed = [*LIMITS, "batch_rows"]
    for key, number in value.items():
        if key not in allowed:
            raise InputError(f"constraints has unknown key {key!r}; allowed keys: {', '.join(allowed)}.")
        positive = isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number) and number > 0
        if not positive or (key == "batch_rows" and not float(number).is_integer()):
            kind = "a positive whole number of rows" if key == "batch_rows" else f"a positive number ({LIMITS[key]})"
            raise InputError(f"constraints[{key!r}]={number!r} is invalid; pass {kind}.")
    if not any(key in value for key in LIMITS):
        raise InputError(f"constraints={dict(value)!r} sets no limit; add {' or '.join(LIMITS)}.")
    return Constraints(value.get("predict_ms_per_row"), value.get("model_mb"),
                       int(value.get("batch_rows", DEFAULT_BATCH_ROWS)))


def measure(predict: Callable[[Any], Any], model: Any, rows: Any, batch_rows: int,
            take: Callable[[Any, np.ndarray], Any]) -> dict[str, float]:
    """Latency per row on a batch of ``batch_rows`` of ``rows`` (cycled), single-row latency and pickled size."""
    return {
        "predict_ms_per_row": batch_ms_per_row(predict, rows, batch_rows, take),
        "predict_ms_single_row": 1000.0 * _median_seconds(predict, take(rows, np.arange(1))),
        "model_mb": len(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6,
    }


def transform_cost(transform: Callable[[Any], Any], rows: Any, batch_rows: int,
                   take: Callable[[Any, np.ndarray], Any]) -> dict[str, float]:
    """What the job's feature transform adds to every trial's latency (the same for all: measured once per job)."""
    return {"predict_ms_per_row": batch_ms_per_row(transform, rows, batch_rows, take),
            "predict_ms_single_row": 1000.0 * _median_seconds(transform, take(rows, np.arange(1)))}


def batch_ms_per_row(predict: Callable[[Any], Any], rows: Any, batch_rows: int,
                     take: Callable[[Any, np.ndarray], Any]) -> float:
    """Milliseconds per row of the median timed prediction of ``batch_rows`` rows of ``rows`` (cycled)."""
    batch = take(rows, np.resize(np.arange(rows.shape[0]), batch_rows))
    return 1000.0 * _median_seconds(predict, batch) / batch_rows


def _median_seconds(predict: Callable[[Any], Any], rows: Any) -> float:
    predict(rows)  # warm-up: lazy initialisation and caches are not latency
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        predict(rows)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def closest(trials: list[Any], constraints: Constraints) -> Any | None:
    """The measured trial that breaks the limits least (the largest share past a limit is smallest)."""
    measured = [t for t in trials if all(name in t.metrics for name in constraints.limits())]
    return min(measured, key=lambda t: (max(constraints.excess(t.metrics)), t.loss if t.loss is not None else math.inf),
               default=None)


__all__ = ["Constraints", "DEFAULT_BATCH_ROWS", "LIMITS", "batch_ms_per_row", "closest", "measure", "transform_cost", "parse_constraints"]
