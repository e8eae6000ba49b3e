"""Where trials run, by name."""

from __future__ import annotations

from automl.backends.base import Backend, BackendOptions
from automl.registry import Registry

BACKENDS: Registry[type] = Registry("backend", "backend")
BACKENDS.register("inprocess", "automl.backends.inprocess:InProcessBackend")
BACKENDS.register("ray", "automl.backends.ray_backend:RayBackend")

__all__ = ["BACKENDS", "Backend", "BackendOptions"]
