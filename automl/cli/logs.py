"""What a command shows of automl's logging: its warnings on stderr, for the command's duration, root logger untouched."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Iterator


@contextlib.contextmanager
def automl_warnings_on_stderr() -> Iterator[None]:
    """Warnings of the ``automl`` loggers go to stderr inside the block, where no handler of the caller would show them.

    A process that configured logging itself (a handler on ``automl`` or the root) keeps its own; nothing is added.
    """
    package = logging.getLogger("automl")
    if package.hasHandlers():
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))  # as logging.basicConfig printed them before
    package.addHandler(handler)
    try:
        yield
    finally:
        package.removeHandler(handler)
