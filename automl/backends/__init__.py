"""Where trials run, by name."""

from __future__ import annotations

from automl.backends.base import Backend
from automl.registry import Registry

BACKENDS: Registry[type] = Registry("backend", "backend")
BACKENDS.register("inprocess", "automl.backends.inprocess:InProcessBackend")

__all__ = ["BACKENDS", "Backend"]
