"""The early-stopping plug-in: after each intermediate report, continue or stop the trial."""

from __future__ import annotations


class Scheduler:
    """Never stops a trial; the base of every scheduler.

    Steps are resource units that mean the same across the trials of one job:
    cross-validation folds completed, or boosting rounds (reported at powers of
    two) on a holdout split. Values are losses (lower is better). A trial's
    ``family`` (its estimator) lets a scheduler compare trials within a family.
    """

    name = "none"

    def start(self, trial_id: int, family: str = "") -> None:
        """A trial of estimator ``family`` begins."""

    def report(self, trial_id: int, step: int, value: float) -> bool:
        """Record an intermediate loss; return ``True`` to stop the trial now."""
        return False

    def finish(self, trial_id: int, status: str, loss: float | None) -> None:
        """A trial ended (ok, failed or pruned)."""
