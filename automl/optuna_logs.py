"""Optuna's INFO lines silenced around automl's own calls into Optuna, and only there.

Optuna logs "A new study created" at ``create_study`` and "Trial N finished ..."
at ``study.tell`` (INFO, its default verbosity); automl's strategies, pruners,
FLAML's BlendSearch and the report's importance run studies of their own, which
must not print, while a user's own Optuna logging keeps the verbosity they chose.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_saved: int | None = None


@contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna at WARNING (or quieter, if it already was) inside the block; its earlier verbosity is back after it.

    Nested and concurrent blocks share one save and restore: the first to enter saves, the last to leave restores.
    """
    import optuna

    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = optuna.logging.get_verbosity()
            if _saved < logging.WARNING:
                optuna.logging.set_verbosity(logging.WARNING)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None and optuna.logging.get_verbosity() != _saved:
                optuna.logging.set_verbosity(_saved)
