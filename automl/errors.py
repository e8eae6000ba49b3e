"""Exceptions raised to users: each message is one sentence naming what is wrong and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from automl.not_fitted import NotFittedError


class AutoMLError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(AutoMLError, ValueError):
    """Bad user input: data, parameters, job files or search-space files."""


class InputTypeError(InputError, TypeError):
    """Bad user input of the wrong type (a column of dicts), where scikit-learn's contract expects a ``TypeError``."""


class SpaceError(InputError):
    """A search-space definition that cannot be used."""


def __getattr__(name: str) -> type:
    """``NotFittedError`` is imported on first use: it subclasses scikit-learn's, whose import (about a second on 2
    cores) neither the MLflow writer process nor ``automl --version`` needs."""
    if name == "NotFittedError":
        from automl.not_fitted import NotFittedError

        return NotFittedError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def infinite_values(lead: str, count: int, first_row: int, remedy: str) -> InputError:
    """The one sentence for infinite values: ``lead`` names the data ('Column "b" holds', "y has")."""
    return InputError(f"{lead} {count} infinite value(s) (the first in row {first_row}); {remedy}.")


#: What to do about infinite features (a column or a sparse matrix).
INFINITE_FEATURES = "replace them with NaN (missing) or a finite number"


def reason(exc: BaseException, limit: int = 200) -> str:
    """A library's error message as a clause for one of these sentences: its first line, no final full stop, short."""
    text = " ".join(str(exc).split("\n")[0].split()).rstrip(".") or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
