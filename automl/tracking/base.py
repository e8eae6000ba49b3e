"""The tracking plug-in: where jobs, trials and the best model are recorded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: ``automl.tracking.writer_process`` is imported before any heavy module
    import pandas as pd

    from automl.study import Trial


class Tracker:
    """Does nothing; the base of every tracker and the one used with ``tracking=False``."""

    #: Seconds kept free at the end of the budget for :meth:`log_result`.
    finish_reserve_s: float = 0.0
    run_id: str | None = None
    model_uri: str | None = None
    registered_uri: str | None = None
    #: The journal that keeps what the store could not be given in time (``automl sync`` writes it), if any.
    journal: str | None = None

    def model_write_s(self, model_mb: float) -> float:
        """Seconds :meth:`log_result` takes for a shipped model of ``model_mb`` MB beyond :attr:`finish_reserve_s`."""
        return 0.0

    def start(self, params: dict[str, Any], tags: dict[str, str]) -> None:
        """Open the job's record."""

    def log_trial(self, trial: Trial, strategy: str) -> None:
        """Record one finished trial."""

    def log_result(
        self,
        leaderboard: pd.DataFrame,
        best: Trial | None,
        summary: dict[str, Any],
        model: Any,
        input_example: pd.DataFrame | None,
    ) -> None:
        """Record the outcome: best score and config, leaderboard, fitted model."""

    def register(self, name: str, tags: dict[str, str]) -> None:
        """Register the logged model under ``name`` in the model registry."""

    def end(self, failed: bool = False, interrupted: bool = False, reason: str | None = None,
            deadline: float | None = None) -> None:
        """Close the job's record: ``failed`` when the job raised (``reason`` says why), ``interrupted`` by Ctrl-C
        (then without waiting long for the store); by ``deadline`` (monotonic seconds, the budget's end), after
        which what the store has not got is kept in :attr:`journal` for ``automl sync``."""


NullTracker = Tracker
