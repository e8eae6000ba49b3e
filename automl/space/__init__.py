"""Declarative search spaces: typed parameters, data-dependent bounds, strict loading."""

from automl.space.joint import JointSpace, space_fingerprint
from automl.space.loader import builtin_space_names, load_builtin, load_file, merge_overrides, parse_space
from automl.space.params import Param, SearchSpace

__all__ = [
    "space_fingerprint",
    "JointSpace",
    "Param",
    "SearchSpace",
    "builtin_space_names",
    "load_builtin",
    "load_file",
    "merge_overrides",
    "parse_space",
]
