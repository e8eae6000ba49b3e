"""A job field's validation error as one sentence: the field, its value, the type expected, what to do."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo

#: Fields whose accepted values a type alone does not say (a validator splits or parses them).
EXPECTED = {
    "estimators": "a list of family names such as [lgbm, rf] (or one comma-separated string), or 'auto'",
    "ensemble": "true, false or 'auto'",
    "warm_start": "true, false or the path of a portfolio file",
    "series_id_column": "a column name or a list of column names",
    "known_covariates": "a column name or a list of column names",
    "resources_per_trial": "a mapping of resource names to numbers such as {cpu: 1, gpu: 0.5}",
    "search_space": "a mapping of family names to a space file path or parameter overrides",
    "constraints": "a mapping of limits such as {predict_ms_per_row: 0.02, model_mb: 5}",
    "device": "'cpu' or 'cuda'",
    "objectives": "a list such as [score, predict_ms_per_row] (or one comma-separated string)",
}
TYPE_NAMES: dict[Any, str] = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
                              Path: "a file path (a string)"}


def field_error(error: dict[str, Any], fields: dict[str, Any], model_fields: dict[str, FieldInfo], source: str,
                flags: bool) -> str:
    """The message for pydantic's first ``error`` on the job's raw ``fields`` (read from ``source``)."""
    name = str(error["loc"][0])
    key, info = next((k, f) for k, f in model_fields.items() if name in (k, f.alias))
    value = fields.get(name, error.get("input"))
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    detail = ""
    if error["type"] == "value_error":  # a validator's own reason (e.g. a malformed cpu=1,gpu=0.5)
        detail = f" ({str(error['msg']).removeprefix('Value error, ')})"
    where = f"the flag --{name.replace('_', '-')}" if flags else f"the field in {source}"
    todo = f"fix {where}"
    if not info.is_required():
        default = info.default
        todo += " or leave it out " + ("(it is optional)" if default is None else
                                       f"(default: {str(default) if isinstance(default, Path) else repr(default)})")
    return f"{source}: field {name!r} = {shown} is invalid: expected {expected(key, info)}{detail}; {todo}."


def expected(name: str, info: FieldInfo) -> str:
    """What field ``name`` accepts, in words: its type(s) and bounds."""
    if name in EXPECTED:
        return EXPECTED[name]
    kinds = [_type_name(t) for t in _members(info.annotation) if t is not type(None)]
    bounds = [text for text in map(_bound, info.metadata) if text]
    return " or ".join(kinds) + (" " + " and ".join(bounds) if bounds else "")


def _members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(annotation))
    if origin is list:
        return "a list of " + _type_name(get_args(annotation)[0]).removeprefix("a ").removeprefix("an ") + "s"
    if origin is dict:
        return "a mapping"
    return TYPE_NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bound(constraint: Any) -> str:
    for kind, words, attribute in ((Gt, "greater than", "gt"), (Ge, "of at least", "ge"), (Lt, "less than", "lt"),
                                   (Le, "of at most", "le")):
        if isinstance(constraint, kind):
            return f"{words} {getattr(constraint, attribute)}"
    return ""
