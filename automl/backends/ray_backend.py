"""Trials on Ray: a pool of reused worker actors, the search loop and the ledger stay in this process.

Why actors and not Ray Tune trials: a reused actor costs under a millisecond
per trial, where a Tune trial costs a process (about a second on a small
machine, see DESIGN.md), and the product's own strategies, schedulers and
tracking then behave exactly as in-process. The driver asks the strategy,
sends a trial to an idle worker, and records results as they arrive; MLflow
records are written from the driver only, so they are complete and nested
the same way whichever node ran a trial. The workers outlive the search until
the job closes the backend: an ensemble's members refit on them in parallel,
on the data they already hold.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from automl.backends.base import BackendOptions, Evaluate, Refitted, TrialCallback, fit_in_turn
from automl.backends.ray_cluster import RaySession, TrialResources, import_ray, node_resources, plan_resources
from automl.budget import Budget
from automl.objective import BUDGET_STOP, Objective
from automl.schedulers import Scheduler
from automl.strategies import Strategy
from automl.study import FAILED, TIMEOUT, Study, Suggestion, Trial, TrialResult

logger = logging.getLogger(__name__)
#: Seconds a trial may run past the search deadline (finishing a tree, scoring) before it is cancelled.
STRAGGLER_GRACE_S = 2.0
#: Seconds of a refit's time left kept for its model's way back to the driver (pickled through the object store).
REFIT_TRANSFER_S = 0.5
#: Seconds to wait for a worker to be placed when no trial is running (e.g. its node died) before giving up.
PLACEMENT_TIMEOUT_S = 120.0


@dataclass
class Running:
    trial: Trial
    suggestion: Suggestion
    worker: Any
    attempt: int


class RayBackend:
    """Runs up to ``n_concurrent_trials`` trials at once on Ray workers (see :class:`BackendOptions`); after the
    search, refits on the workers still alive, as many at once, until :meth:`close`."""

    def __init__(self, options: BackendOptions | None = None) -> None:
        self.options = options or BackendOptions()
        self.session: RaySession | None = None
        self.loop: _TrialLoop | None = None
        self.closed = False

    def overrun_s(self, budget: Budget) -> float:
        return STRAGGLER_GRACE_S

    def run(self, study: Study, strategy: Strategy, objective: Evaluate, budget: Budget, on_trial_end: TrialCallback) -> None:
        if not isinstance(objective, Objective):
            raise TypeError("the Ray backend evaluates automl.objective.Objective instances")
        self.session = RaySession.connect(self.options.ray_address)
        try:
            resources = plan_resources(self.options.resources_per_trial, self.options.n_concurrent_trials, node_resources())
            self.loop = _TrialLoop(study, strategy, objective, budget, on_trial_end, resources, self.options.trial_retries,
                                   self.session.close_reserve_s)
            self.loop.run()
        except BaseException:
            self.close()
            raise

    def refit_slots(self) -> int:
        if self.closed:  # no workers left: a refit runs here
            return 1
        if self.loop is None:  # before the search: the concurrency asked for
            return max(1, self.options.n_concurrent_trials)
        return max(1, self.loop.resources.n_concurrent if self.loop.searching else len(self.loop.idle))

    def fit_all_rows(self, objective: Objective, trials: list[Trial], deadline: float | None) -> list[Refitted]:
        """On the search's idle workers (their own copy of the job's data; ``objective``'s device), else in turn here."""
        if self.loop is None or len(self.loop.idle) < 2 or len(trials) < 2:
            return fit_in_turn(objective, trials, deadline)
        return self.loop.refit(trials, deadline, objective.device)

    def close_reserve_s(self) -> float:
        return 0.0 if self.session is None else self.session.close_reserve_s

    def close(self) -> None:
        loop, session, self.loop, self.session, self.closed = self.loop, self.session, None, None, True
        try:
            if loop is not None:
                loop.release()
        finally:
            if session is not None:
                session.close()


class _TrialLoop:
    """One job's pool of workers and the trials in flight."""

    def __init__(
        self, study: Study, strategy: Strategy, objective: Objective, budget: Budget, on_trial_end: TrialCallback,
        resources: TrialResources, retries: int, close_reserve_s: float,
    ) -> None:
        from automl.backends.ray_workers import RemoteSchedulerActor, RemoteTrialWorker

        self.ray = import_ray()
        self.study, self.strategy, self.budget, self.on_trial_end = study, strategy, budget, on_trial_end
        self.resources, self.retries, self.close_reserve_s = resources, retries, close_reserve_s
        self.scheduler: Scheduler = objective.scheduler
        self.scheduler_actor = None if type(self.scheduler) is Scheduler else RemoteSchedulerActor.remote(self.scheduler)
        self.data = self.ray.put(replace(objective, scheduler=Scheduler()))  # shipped once, shared by every worker
        self.worker_class = RemoteTrialWorker.options(**resources.actor_options())
        self.idle: deque[Any] = deque()
        self.starting: dict[Any, Any] = {}  # identity() ref -> worker not yet ready
        self.identities: dict[Any, str] = {}
        self.running: dict[Any, Running] = {}  # evaluate() ref -> trial
        self.retry: deque[Running] = deque()
        self.exhausted = False
        self.searching = True

    def run(self) -> None:
        started = time.monotonic()
        for _ in range(self.resources.n_concurrent):
            self._spawn()
        try:
            while self._dispatch() or self.running or self.starting:
                if not self.running and not self.retry and self._search_over():
                    break
                if not self._wait():
                    break
        finally:
            if not self.study.trials and self.starting:
                self.study.unstarted_reason = (
                    f"none of the {len(self.starting)} Ray trial worker(s) ({self.resources.actor_options()}) had "
                    f"started {time.monotonic() - started:.1f}s into the search, when its time was up (a busy or "
                    "cold cluster starts workers slowly); raise time_budget, or start Ray before the job "
                    "(ray_address)")
            self._stop_all()
            self.searching = False

    # -- scheduling ----------------------------------------------------------------
    def _search_deadline(self) -> float | None:
        deadline = self.budget.search_deadline()
        return None if deadline is None else deadline - self.close_reserve_s

    def _search_over(self) -> bool:
        deadline = self._search_deadline()
        if deadline is not None and time.monotonic() >= deadline:
            return True
        return self.exhausted or self.budget.search_over(len(self.study.trials))

    def _dispatch(self) -> bool:
        """Send work to idle workers; ``False`` when nothing more will be sent."""
        while self.idle:
            if self.retry:
                self._send(self.retry.popleft())
                continue
            if self._search_over():
                return False
            suggestion = self.strategy.ask()
            if suggestion is None:
                self.exhausted = True
                return False
            trial = self.study.start(suggestion)
            self._send(Running(trial, suggestion, None, 0))
        return not self._search_over()

    def _send(self, item: Running) -> None:
        worker = self.idle.popleft()
        deadline = self._search_deadline()
        seconds_left = None if deadline is None else max(0.0, deadline - time.monotonic())
        item.worker = worker
        item.trial.worker = self.identities.get(worker, "")
        item.trial.started_at = time.time()
        self.running[worker.evaluate.remote(item.trial, seconds_left, *self.study.keep_bounds())] = item

    def _wait(self) -> bool:
        """Handle whatever finishes next; ``False`` once stragglers had to be cancelled at the budget's end."""
        refs = [*self.running, *self.starting]
        if not refs:
            logger.error("No Ray trial worker is left to run trials; ending the search.")
            return False
        deadline = self._search_deadline()
        timeout = None if deadline is None else max(0.0, deadline + STRAGGLER_GRACE_S - time.monotonic())
        if not self.running:
            timeout = PLACEMENT_TIMEOUT_S if timeout is None else min(timeout, PLACEMENT_TIMEOUT_S)
        done, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if not done:
            if self.running:
                logger.info("Cancelling %d trial(s) still running at the end of the time budget.", len(self.running))
            elif deadline is None or time.monotonic() < deadline:
                logger.error("No Ray worker could be placed for %.0fs (resources per trial: %s); ending the search.",
                             PLACEMENT_TIMEOUT_S, self.resources.actor_options())
            return False
        for ref in done:
            if ref in self.starting:
                self._ready(ref)
            else:
                self._finished(ref)
        return True

    # -- workers -----------------------------------------------------------------
    def _spawn(self) -> None:
        worker = self.worker_class.remote(self.data, self.scheduler_actor, self.scheduler.name,
                                          self.resources.threads, self.resources.gpu > 0)
        self.starting[worker.identity.remote()] = worker

    def _ready(self, ref: Any) -> None:
        worker = self.starting.pop(ref)
        try:
            self.identities[worker] = self.ray.get(ref)
        except self.ray.exceptions.RayError as exc:
            logger.warning("A Ray trial worker failed to start (%s); continuing with the others.", exc)
            return
        self.idle.append(worker)

    def _finished(self, ref: Any) -> None:
        item = self.running.pop(ref)
        try:
            result: TrialResult = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            self._worker_died(item, exc)
            return
        except self.ray.exceptions.RayError as exc:
            result = TrialResult(FAILED, error=f"{type(exc).__name__}: {exc}")
        self.idle.append(item.worker)
        self._record(item, result)

    def _worker_died(self, item: Running, exc: Exception) -> None:
        """Replace the worker; run the trial again or record it as failed."""
        self.identities.pop(item.worker, None)
        self._spawn()
        reason = f"worker {item.trial.worker or '?'} died during the trial ({type(exc).__name__})"
        if self.scheduler_actor is not None:
            self.scheduler_actor.finish.remote(item.trial.trial_id, FAILED, None)
        if item.attempt < self.retries:
            logger.warning("%s; retrying trial %d (attempt %d).", reason, item.trial.trial_id, item.attempt + 2)
            item.trial.retries = item.attempt + 1
            self.retry.append(Running(item.trial, item.suggestion, None, item.attempt + 1))
            return
        logger.warning("%s; recording trial %d as failed.", reason, item.trial.trial_id)
        self._record(item, TrialResult(FAILED, error=reason))

    def _record(self, item: Running, result: TrialResult) -> None:
        self.study.finish(item.trial, result)
        self.strategy.tell(item.suggestion, item.trial)
        self.on_trial_end(self.study, item.trial)

    def _stop_all(self) -> None:
        """Stop what still runs (recorded as pruned at the budget, as in-process); the idle workers stay for the
        refits."""
        for item in self.running.values():
            self.ray.kill(item.worker)
            self._record(item, TrialResult(TIMEOUT, error=BUDGET_STOP))
        for item in self.retry:
            self._record(item, TrialResult(FAILED, error=f"{BUDGET_STOP} before it could be retried"))
        self.running.clear()
        self.retry.clear()
        for worker in self.starting.values():
            self.ray.kill(worker)
        self.starting.clear()
        if self.scheduler_actor is not None:
            self.ray.kill(self.scheduler_actor)
            self.scheduler_actor = None

    def release(self) -> None:
        """Release every worker (the job is done with them)."""
        for worker in self.idle:
            self.ray.kill(worker)
        self.idle.clear()

    # -- refits after the search ----------------------------------------------------
    def refit(self, trials: list[Trial], deadline: float | None, device: str) -> list[Refitted]:
        """:meth:`RayBackend.fit_all_rows` on the idle workers: the next trial to whichever worker is free first.
        Each worker's fit ends :data:`REFIT_TRANSFER_S` before ``deadline`` (its model still travels back); at
        ``deadline``, or once a refit failed or did not complete, the refits still running are killed and the
        rest are incomplete."""
        started = time.monotonic()
        out: list[Refitted] = [(None, False)] * len(trials)
        pending = deque(enumerate(trials))
        running: dict[Any, tuple[int, Any, float]] = {}  # fit_all_rows() ref -> (trial's index, worker, sent at)
        used: set[str] = set()
        busy = 0.0  # the refits' own seconds, sent to done, added up
        try:
            while pending or running:
                while self.idle and pending:
                    index, trial = pending.popleft()
                    worker = self.idle.popleft()
                    seconds_left = None if deadline is None else max(0.0, deadline - REFIT_TRANSFER_S - time.monotonic())
                    running[worker.fit_all_rows.remote(trial, seconds_left, device)] = (index, worker, time.monotonic())
                    used.add(self.identities.get(worker, "?"))
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                done, _ = self.ray.wait(list(running), num_returns=1, timeout=timeout)
                if not done:
                    logger.info("Cancelling %d refit(s) still running at the end of the time budget.", len(running))
                    return out
                for ref in done:
                    index, worker, sent = running.pop(ref)
                    busy += time.monotonic() - sent
                    if not self._refitted(ref, worker, trials[index], out, index):
                        return out  # the ensemble needs every member: the other refits are of no use now
        finally:
            for _, worker, _ in running.values():  # cut at the deadline, of no use, or interrupted
                self.identities.pop(worker, None)
                self.ray.kill(worker)
        logger.info("Refitted %d trial(s) on all rows in %.2fs, side by side on Ray workers %s (%.2fs of refits).",
                    len(trials), time.monotonic() - started, sorted(used), busy)
        return out

    def _refitted(self, ref: Any, worker: Any, trial: Trial, out: list[Refitted], index: int) -> bool:
        """Take one refit's outcome into ``out[index]``; False when it failed or did not complete."""
        try:
            out[index] = self.ray.get(ref)
        except self.ray.exceptions.RayActorError as exc:
            self.identities.pop(worker, None)
            logger.warning("Trial %d's refit failed: its Ray worker died (%s).", trial.trial_id, type(exc).__name__)
            return False
        except self.ray.exceptions.RayError as exc:
            self.idle.append(worker)
            logger.warning("Trial %d's refit failed on its Ray worker (%s).", trial.trial_id, exc)
            return False
        self.idle.append(worker)
        if not out[index][1]:
            logger.info("Trial %d's refit reached the time budget.", trial.trial_id)
        return out[index][1]
