"""Cost-aware choice among estimator families, after FLAML's estimated cost for improvement (ECI).

Every family is tried once, cheapest first (a family with ``leading`` points, a
baseline's variants, has them all tried at its turn, right after its default); then,
once more each, the families that have a portfolio start (``first_points``: the
default and the nearest data set's best configuration, ``automl.portfolio``). After
that a family is drawn with probability proportional to 1 / ECI, where ECI
estimates the seconds the family needs to beat the best loss found so far: the
time it has spent without improving (at least one more trial of its measured
cost), plus, for a family behind the leader, the gap divided by its own rate of
improvement. A slow family that does not improve grows a large ECI and gets few
trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

EXPLORATION = 0.05  # share of draws spread evenly, so no family is starved forever


@dataclass
class FamilyRecord:
    chosen: int = 0  # trials handed out, finished or not (concurrent trials)
    trials: int = 0
    time_s: float = 0.0
    best: float = math.inf
    first: float = math.inf
    time_at_best_s: float = 0.0
    last_cost_s: float = 0.0


class FamilyChooser:
    """Draws the family of the next trial; ``update`` after each finished trial."""

    def __init__(self, families: Sequence[str], seed: int, first_points: Mapping[str, int] | None = None,
                 leading: Mapping[str, int] | None = None) -> None:
        self.families = list(families)
        self.records = {f: FamilyRecord() for f in self.families}
        self.rng = np.random.default_rng(seed)
        #: trials each family gets at its turn in the first round: its default and its own starts (1 for most)
        self.leading = {f: max(int((leading or {}).get(f, 1)), 1) for f in self.families}
        #: trials each family gets before the cost-aware draws: its leading ones, one more with a portfolio start
        self.first_points = {f: min(max(int((first_points or {}).get(f, 1)), self.leading[f]), self.leading[f] + 1)
                             for f in self.families}

    def choose(self, allowed: Sequence[str] | None = None) -> str:
        candidates = [f for f in self.families if allowed is None or f in allowed]
        untried = [f for f in candidates if self.records[f].chosen < self.leading[f]]
        started = [f for f in candidates if self.records[f].chosen < self.first_points[f]]
        if untried:
            family = untried[0]
        elif started:  # a portfolio start is known to work on similar data: it runs before the draws
            family = started[0]
        elif any(self.records[f].trials == 0 for f in candidates):  # concurrent trials: wait for first results
            family = min(candidates, key=lambda f: (self.records[f].chosen, self.families.index(f)))
        else:
            eci = np.array([self.eci(f) for f in candidates])
            weights = 1.0 / np.maximum(eci, 1e-9)
            weights = (1 - EXPLORATION) * weights / weights.sum() + EXPLORATION / len(candidates)
            family = candidates[int(self.rng.choice(len(candidates), p=weights / weights.sum()))]
        self.records[family].chosen += 1
        return family

    def update(self, family: str, loss: float | None, cost_s: float) -> None:
        record = self.records[family]
        record.trials += 1
        record.time_s += cost_s
        record.last_cost_s = cost_s
        if loss is not None and math.isfinite(loss):
            if not math.isfinite(record.first):
                record.first = loss
            if loss < record.best:
                record.best, record.time_at_best_s = loss, record.time_s

    def eci(self, family: str) -> float:
        record = self.records[family]
        leader = min(r.best for r in self.records.values())
        stalled = max(record.time_s - record.time_at_best_s, record.last_cost_s, 1e-3)
        if not math.isfinite(record.best):
            return 10 * max(record.time_s, 1e-3)  # only failures so far
        gap = record.best - leader
        if gap <= 0:
            return stalled
        gained = record.first - record.best
        speed = gained / record.time_s if gained > 0 and record.time_s > 0 else 0.0
        return stalled + (gap / speed if speed > 0 else 10 * max(record.time_s, stalled))
