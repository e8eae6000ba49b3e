"""The job run's heartbeat: the MLflow writer refreshes one tag on the parent run every few seconds.

A job whose process group dies at once (``kill -9``, the OOM killer, a container
stop, a lost machine) takes its writer with it, so nobody is left to end its run:
it would stay RUNNING forever. The writer therefore stamps tag
``automl.heartbeat`` (UTC time, ISO 8601) every :data:`HEARTBEAT_INTERVAL_S`
seconds from a thread of its own, and records the interval it uses in tag
``automl.heartbeat_interval_s``. A RUNNING job whose last beat is older than
:data:`STALE_AFTER_BEATS` intervals is dead (``automl.tracking.liveness``).
One beat is one ``set_tag``: about 1 ms on a SQLite store
(``python -m benchmarks.heartbeat_cost``); the search process never sees it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime, timezone
from typing import Callable

logger = logging.getLogger(__name__)

#: Tag of a job's run: the time of its writer's last beat (UTC, ISO 8601).
HEARTBEAT_TAG = "automl.heartbeat"
#: Tag of a job's run: the seconds between its beats, so that a job is judged by its own interval.
INTERVAL_TAG = "automl.heartbeat_interval_s"
#: Seconds between beats.
HEARTBEAT_INTERVAL_S = 5.0
#: A RUNNING job whose last beat is this many intervals old is dead (60 s at the default interval): a loaded
#: machine or a slow store delays a beat by seconds, not by a minute.
STALE_AFTER_BEATS = 12
#: Environment variable that sets the interval of the jobs started under it (seconds; tests use short ones).
INTERVAL_ENV = "AUTOML_HEARTBEAT_INTERVAL_S"


def interval_s() -> float:
    """The interval this process's jobs beat at: :data:`INTERVAL_ENV` when it is a positive number, else the default."""
    value = os.environ.get(INTERVAL_ENV)
    if value is None:
        return HEARTBEAT_INTERVAL_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        logger.warning("%s=%r is not a positive number of seconds; the heartbeat beats every %gs.", INTERVAL_ENV,
                       value, HEARTBEAT_INTERVAL_S)
        return HEARTBEAT_INTERVAL_S
    return seconds


def beat_text(at: datetime | None = None) -> str:
    """The tag value of a beat at ``at`` (now by default)."""
    return (at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_beat(text: str | None) -> datetime | None:
    """The time of a beat from its tag value, or None where there is none (a job of an older automl)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).astimezone(timezone.utc)
    except ValueError:
        return None


def heartbeat_tags(seconds: float, at: datetime | None = None) -> dict[str, str]:
    """The tags a job's run starts with: its first beat (at ``at``, now by default) and its interval."""
    return {HEARTBEAT_TAG: beat_text(at), INTERVAL_TAG: f"{seconds:g}"}


class Heartbeat:
    """Calls ``beat(tag_value)`` every ``seconds`` from a daemon thread until :meth:`stop`.

    A beat that fails (a store locked past its timeout, a server away) is logged
    once and retried at the next beat; it never stops the job. A beat that comes
    after a silence long enough for the job to be judged dead (the machine slept,
    the process was stopped) calls ``on_late(silence_s)`` and sets :attr:`was_late`.
    """

    def __init__(self, beat: Callable[[str], None], seconds: float,
                 on_late: Callable[[float], None] = lambda silence_s: None) -> None:
        self.beat, self.seconds, self.on_late = beat, seconds, on_late
        self.was_late = False
        self.failures = 0
        self._last = time.time()  # the wall clock, as the readers judge: a monotonic clock stops while a machine sleeps
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="automl-heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._last = time.time()
        self._thread.start()
        return self

    def stop(self) -> None:
        """No beat starts after this returns; one under way gets a second to finish."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while not self._stopped.wait(self.seconds):
            try:
                self.beat(beat_text())
            except Exception as exc:  # noqa: BLE001 - the store's reason, once; the next beat tries again
                self.failures += 1
                if self.failures == 1:
                    logger.warning("The job's heartbeat could not be written (%s: %s); retrying every %gs.",
                                   type(exc).__name__, exc, self.seconds)
                continue
            now = time.time()
            silence, self._last = now - self._last, now
            if silence > STALE_AFTER_BEATS * self.seconds:
                self.was_late = True
                try:
                    self.on_late(silence)
                except Exception as exc:  # noqa: BLE001 - the close checks again
                    logger.warning("The job's run could not be checked after a %.0fs silence (%s: %s).",
                                   silence, type(exc).__name__, exc)
