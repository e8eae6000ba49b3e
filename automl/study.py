"""The ledger of trials: the one place that changes trial state."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

OK, FAILED, PRUNED, RUNNING = "ok", "failed", "pruned", "running"


@dataclass
class Suggestion:
    """A configuration proposed by a strategy; ``token`` is the strategy's own handle."""

    estimator: str
    config: dict[str, Any]
    token: Any = None


@dataclass
class TrialResult:
    """What evaluating one configuration produced."""

    status: str
    score: float | None = None
    loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    fit_time_s: float = 0.0
    error: str | None = None
    model: Any = None  # the last fold's fitted model, kept for the best trial only
    intermediate: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) reports
    duration_s: float | None = None  # a replayed trial's recorded duration (otherwise measured)
    started_at: float | None = None  # and its recorded start
    device: str = ""  # where the model trained, where the family can tell ("cpu", "cuda", ...)


@dataclass
class Trial:
    """One evaluated configuration."""

    trial_id: int
    estimator: str
    config: dict[str, Any]
    seed: int
    status: str = RUNNING
    score: float | None = None
    loss: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    fit_time_s: float = 0.0
    error: str | None = None
    started_at: float = 0.0
    intermediate: list[tuple[int, float]] = field(default_factory=list)
    worker: str = ""  # pid@host of the Ray worker that ran it; empty in-process
    retries: int = 0  # runs again after its worker died (Ray)
    replayed: bool = False  # told from an earlier run's records when the job was resumed
    device: str = ""  # where the model trained, where the family can tell

    @property
    def last_step(self) -> int | None:
        return self.intermediate[-1][0] if self.intermediate else None

    @property
    def last_value(self) -> float | None:
        return self.intermediate[-1][1] if self.intermediate else None


def trial_seed(seed: int, trial_id: int) -> int:
    """Per-trial seed derived from the user's seed."""
    return int(np.random.SeedSequence([seed, trial_id]).generate_state(1)[0] % (2**31 - 1))


class Study:
    """Trials in the order they were asked, and the best one so far."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.trials: list[Trial] = []
        self.best: Trial | None = None
        self.best_model: Any = None

    def start(self, suggestion: Suggestion) -> Trial:
        trial_id = len(self.trials)
        trial = Trial(trial_id, suggestion.estimator, dict(suggestion.config), trial_seed(self.seed, trial_id))
        trial.started_at = time.time()
        self.trials.append(trial)
        return trial

    def finish(self, trial: Trial, result: TrialResult) -> Trial:
        """Record ``result``; a non-finite loss turns an ok trial into a failure."""
        if result.started_at is not None:
            trial.started_at = result.started_at
        trial.duration_s = result.duration_s if result.duration_s is not None else time.time() - trial.started_at
        trial.status, trial.metrics, trial.fit_time_s = result.status, result.metrics, result.fit_time_s
        trial.score, trial.loss, trial.error = result.score, result.loss, result.error
        trial.intermediate = list(result.intermediate)
        trial.device = result.device
        if trial.status == OK and (trial.loss is None or not math.isfinite(trial.loss)):
            trial.status, trial.error = FAILED, f"non-finite score {trial.score!r}"
        if trial.status == OK and (self.best is None or trial.loss < self.best.loss):  # type: ignore[operator]
            self.best, self.best_model = trial, result.model
        return trial

    def count(self, status: str | None = None) -> int:
        return sum(1 for t in self.trials if status is None or t.status == status)

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first: ok trials by loss, then pruned, then failed."""
        columns = ["trial_id", "estimator", "status", "score", "duration_s", "error", "last_step", "last_value"]
        rows = []
        for t in self.trials:
            row = {k: v for k, v in asdict(t).items() if k in columns}
            row.update(last_step=t.last_step, last_value=t.last_value)
            row.update({f"param.{k}": v for k, v in t.config.items()})
            row["_rank"] = (0 if t.status == OK else 1 if t.status == PRUNED else 2, t.loss if t.loss is not None else math.inf, t.trial_id)
            rows.append(row)
        if not rows:
            return pd.DataFrame(columns=columns)
        frame = pd.DataFrame(rows)
        frame = frame.loc[sorted(frame.index, key=lambda i: frame.at[i, "_rank"])].drop(columns="_rank")
        return frame.reset_index(drop=True)
