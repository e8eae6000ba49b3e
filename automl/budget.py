"""The time budget as a deadline: search stops early enough for the refit and logging to fit."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

SLACK_SHARE = 0.02
MAX_SLACK_S = 0.5


@dataclass
class Budget:
    """Wall-clock budget from ``started`` (monotonic seconds); ``None`` means no time limit.

    ``reserve_s`` is kept free at the end for the final refit and tracking; the
    caller updates it as the best trial's cost becomes known.
    """

    time_budget: float | None
    max_trials: int | None = None
    started: float = field(default_factory=time.monotonic)
    reserve_s: float = 0.0

    @property
    def end(self) -> float:
        return math.inf if self.time_budget is None else self.started + self.time_budget

    @property
    def slack_s(self) -> float:
        """Kept free for work that cannot stop at once (a tree being grown, a fold being scored)."""
        return 0.0 if self.time_budget is None else min(MAX_SLACK_S, SLACK_SHARE * self.time_budget)

    def search_deadline(self) -> float | None:
        """When trials must stop so that the reserve (refit, logging) and the slack still fit."""
        return None if self.time_budget is None else self.end - self.reserve_s - self.slack_s

    def search_over(self, trials_done: int) -> bool:
        if self.max_trials is not None and trials_done >= self.max_trials:
            return True
        deadline = self.search_deadline()
        return deadline is not None and time.monotonic() >= deadline

    def elapsed(self) -> float:
        return time.monotonic() - self.started
