"""A live progress display for tuning jobs: trials done, best score so far, time left.

``automl tune`` shows it on stderr; ``AutoML(verbose=1)`` in the Python API on stdout (a live bar in a terminal
or a Jupyter notebook, else a line whenever the best improves and at most every 2 s).
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from automl.study import RUNNING, Study, Trial


#: Without a terminal (logs, Ray job output), a line at most this often, and whenever the best improves.
LINE_INTERVAL_S = 2.0


class TuneProgress:
    """A ``callback(study, trial)`` that drives a rich progress bar on stderr, or prints lines without a terminal."""

    def __init__(self, time_budget: float | None, max_trials: int | None, console: Console) -> None:
        self.time_budget = time_budget
        self.max_trials = max_trials
        self.started = time.monotonic()
        self.progress = Progress(
            TextColumn("[bold]tuning[/]"),
            BarColumn(),
            TextColumn("{task.fields[trials]} trials"),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[left]}"),
            console=console,
            transient=True,
        )
        self.lines = not console.is_terminal
        self.console = console
        self._last_line, self._last_best = -LINE_INTERVAL_S, None
        total = time_budget if time_budget is not None else float(max_trials or 1)
        self.task_id = self.progress.add_task("tune", total=total, trials=0, best="-", left=self._left())

    def _left(self) -> str:
        if self.time_budget is None:
            return ""
        return f"{max(0.0, self.time_budget - (time.monotonic() - self.started)):.0f}s left"

    def __enter__(self) -> "TuneProgress":
        if not self.lines:
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.lines:
            self.progress.stop()

    def __call__(self, study: Study, trial: Trial) -> None:
        done = len(study.trials) - study.count(RUNNING)  # concurrent trials may still run
        best = "-" if study.best is None else f"{study.best.score:.5g} ({study.best.estimator})"
        completed = time.monotonic() - self.started if self.time_budget is not None else done
        if not self.lines:
            self.progress.update(self.task_id, completed=completed, trials=done, best=best, left=self._left())
            return
        now = time.monotonic()
        if study.best is not self._last_best or now - self._last_line >= LINE_INTERVAL_S:
            self._last_line, self._last_best = now, study.best
            self.console.print(f"tuning: {done} trials, best {best}, {self._left() or 'no time limit'}", soft_wrap=True)
