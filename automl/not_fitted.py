"""``NotFittedError``, kept apart from ``automl.errors`` (which re-exports it on first use) because it imports scikit-learn."""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from automl.errors import AutoMLError


class NotFittedError(AutoMLError, SklearnNotFittedError):
    """A fitted attribute or method was used before ``fit``.

    Subclasses scikit-learn's own ``NotFittedError`` (a ``ValueError`` and ``AttributeError``), so code that catches
    scikit-learn's catches it too.
    """
