"""Reading search spaces from YAML files or dicts, strictly: unknown keys are errors."""

from __future__ import annotations

from dataclasses import fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

import yaml

from automl.errors import SpaceError
from automl.space.expressions import check_condition, check_expression
from automl.space.params import PARAM_TYPES, Param, SearchSpace

FILE_KEYS = {"family", "description", "params"}
PARAM_KEYS = {f.name for f in fields(Param)} - {"name"}


#: Shipped parameter sets that families add to their own (not families): the lag features of a forecasting regressor.
SHARED_SPACES = ("lags",)


def builtin_space_names() -> list[str]:
    """Families that ship a space file inside the package."""
    names = (p.name[:-5] for p in resources.files("automl.searchspaces").iterdir() if p.name.endswith(".yaml"))
    return sorted(name for name in names if name not in SHARED_SPACES)


def load_builtin(family: str) -> SearchSpace:
    """Load the space file shipped for ``family``."""
    ref = resources.files("automl.searchspaces").joinpath(f"{family}.yaml")
    if not ref.is_file():
        raise SpaceError(f'No search-space file ships for family "{family}"; pass search_space={{"{family}": ...}}.')
    return parse_space(yaml.safe_load(ref.read_text()), source=f"searchspaces/{family}.yaml", family=family)


def load_file(path: str | Path, family: str | None = None) -> SearchSpace:
    """Load a user's space file."""
    path = Path(path)
    if not path.is_file():
        raise SpaceError(f"Search-space file {str(path)!r} does not exist; pass the path of a YAML space file.")
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpaceError(f"Search-space file {str(path)!r} is not valid YAML ({exc}); fix its syntax.") from exc
    return parse_space(document, source=str(path), family=family)


def parse_space(document: Any, source: str, family: str | None = None) -> SearchSpace:
    """Validate a whole space document ``{family?, description?, params: {...}}``."""
    if not isinstance(document, Mapping) or "params" not in document:
        raise SpaceError(f"Search space {source} must be a mapping with a 'params' key; see searchspaces/lgbm.yaml.")
    unknown = set(document) - FILE_KEYS
    if unknown:
        raise SpaceError(f"Search space {source} has unknown key {sorted(unknown)[0]!r}; allowed keys: {sorted(FILE_KEYS)}.")
    name = document.get("family", family)
    if family is not None and name != family:
        raise SpaceError(f"Search space {source} declares family {name!r} but is used for {family!r}; fix 'family'.")
    params = document["params"]
    if not isinstance(params, Mapping) or not params:
        raise SpaceError(f"Search space {source}: 'params' must be a non-empty mapping of parameter definitions.")
    return _checked(SearchSpace(str(name), tuple(parse_param(k, v, source) for k, v in params.items()), source))


def _checked(space: SearchSpace) -> SearchSpace:
    """Each condition names only parameters declared before its own (so a sampler can draw in order)."""
    earlier: list[str] = []
    for param in space.params:
        if param.condition is not None:
            if not isinstance(param.condition, str):
                raise SpaceError(f"In search space {space.source}, parameter {param.name!r}: condition "
                                 f"{param.condition!r} must be a string such as \"n_layers >= 3\".")
            try:
                check_condition(param.condition, earlier)
            except (ValueError, SyntaxError) as exc:
                raise SpaceError(f"In search space {space.source}, parameter {param.name!r}: condition "
                                 f"{param.condition!r} is not valid ({exc}); write a comparison of parameters declared "
                                 "before it, such as \"n_layers >= 3\".") from exc
        earlier.append(param.name)
    return space


def parse_param(name: str, spec: Any, source: str) -> Param:
    """Validate one parameter definition."""
    where = f"search space {source}, parameter {name!r}"
    if not isinstance(spec, Mapping):
        raise SpaceError(f"In {where}: the definition must be a mapping with at least 'type' and 'default'.")
    unknown = set(spec) - PARAM_KEYS
    if unknown:
        raise SpaceError(f"In {where}: unknown key {sorted(unknown)[0]!r}; allowed keys: {sorted(PARAM_KEYS)}.")
    kind = spec.get("type")
    if kind not in PARAM_TYPES:
        raise SpaceError(f"In {where}: type {kind!r} is unknown; use one of {list(PARAM_TYPES)}.")
    if "default" not in spec:
        raise SpaceError(f"In {where}: 'default' is missing; every parameter needs a default value.")
    values = dict(spec)
    if values.get("tasks") is not None:
        tasks = values["tasks"] if isinstance(values["tasks"], list) else [values["tasks"]]
        from automl.tasks import estimator_kinds

        bad = [t for t in tasks if t not in estimator_kinds()]
        if bad:
            raise SpaceError(f"In {where}: tasks {bad} are unknown; use {estimator_kinds()}.")
        values["tasks"] = tuple(tasks)
    if kind == "categorical":
        choices = values.get("choices")
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"In {where}: a categorical parameter needs a non-empty 'choices' list.")
        if values["default"] not in choices:
            raise SpaceError(f"In {where}: default {values['default']!r} is not one of the choices {choices}.")
        values["choices"] = tuple(choices)
        for key in ("low", "high", "log"):
            if key in values:
                raise SpaceError(f"In {where}: {key!r} does not apply to a categorical parameter; remove it.")
    else:
        for key in ("low", "high"):
            _check_bound(values.get(key), key, where)
        if "choices" in values:
            raise SpaceError(f"In {where}: 'choices' applies only to categorical parameters; use low/high.")
        for key in ("default", "low_cost"):
            if values.get(key) is not None and not _is_number(values[key]):
                raise SpaceError(f"In {where}: {key} {values[key]!r} is not a number.")
        if values.get("log") and _is_number(values.get("low")) and values["low"] <= 0:
            raise SpaceError(f"In {where}: a log-scale parameter needs low > 0, got {values['low']!r}.")
    return Param(name=name, **values)


def merge_overrides(space: SearchSpace, overrides: Mapping[str, Any]) -> SearchSpace:
    """Apply ``{param: {field: value}}`` to a space; new parameters need a full definition."""
    params = {p.name: p for p in space.params}
    source = f"override of {space.family}"
    for name, change in overrides.items():
        if name in params and isinstance(change, Mapping):
            current = {f.name: getattr(params[name], f.name) for f in fields(Param) if f.name != "name"}
            current = {k: (list(v) if isinstance(v, tuple) else v) for k, v in current.items() if v is not None}
            if "choices" in change or {**current, **change}.get("type") == "categorical":  # numeric fields do not apply
                for key in ("low", "high", "log"):
                    current.pop(key, None)
            params[name] = parse_param(name, {**current, **change}, source)
        else:
            params[name] = parse_param(name, change, source)
    return _checked(replace(space, params=tuple(params.values()), source=source))


def _check_bound(bound: Any, key: str, where: str) -> None:
    if bound is None:
        raise SpaceError(f"In {where}: {key!r} is missing; numeric parameters need 'low' and 'high'.")
    if isinstance(bound, str):
        try:
            check_expression(bound)
        except (ValueError, SyntaxError) as exc:
            raise SpaceError(f"In {where}: {key} {bound!r} is not a valid bound expression ({exc}).") from exc
    elif not _is_number(bound):
        raise SpaceError(f"In {where}: {key} {bound!r} must be a number or an expression such as 'min(1000, n_rows)'.")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
