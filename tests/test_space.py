import math
from pathlib import Path

import pytest
import yaml

from automl import SpaceError
from automl.estimators import ESTIMATORS, get_adapter
from automl.space import JointSpace, builtin_space_names, load_builtin, load_file, merge_overrides, parse_space
from automl.space.expressions import evaluate
from automl.space.joint import grid_values

NAMES = {"n_rows": 100, "n_features": 5, "n_classes": 2}


def test_every_registered_family_ships_a_valid_space() -> None:
    assert set(builtin_space_names()) == set(ESTIMATORS.names())
    for family in ESTIMATORS.names():
        space = get_adapter(family).search_space()
        for task in get_adapter(family).tasks:
            resolved = space.for_task(task, NAMES)
            assert resolved.params, family
            for p in resolved.params:
                if p.is_numeric:
                    assert p.low <= p.default <= p.high, (family, p.name)
                    if p.low_cost is not None:
                        assert p.low <= p.low_cost <= p.high
                else:
                    assert p.default in p.choices


def test_data_dependent_bounds_are_capped_by_rows() -> None:
    space = load_builtin("lgbm").for_task("classification", {"n_rows": 50, "n_features": 3, "n_classes": 2})
    assert space["n_estimators"].high == 50
    assert space["n_estimators"].default == 50  # default 100 clipped into the bounds
    big = load_builtin("lgbm").for_task("classification", {"n_rows": 10**6, "n_features": 3, "n_classes": 2})
    assert big["n_estimators"].high == 4096


def test_task_specific_parameters() -> None:
    lr = load_builtin("lr")
    assert [p.name for p in lr.for_task("classification", NAMES).params] == ["C"]
    assert [p.name for p in lr.for_task("regression", NAMES).params] == ["alpha"]


def test_expressions_are_safe() -> None:
    assert evaluate("min(4096, n_rows // 2)", NAMES) == 50
    with pytest.raises(ValueError, match="unsupported expression part"):
        evaluate("__import__('os')", NAMES)
    with pytest.raises(ValueError, match="unknown name 'rows'"):
        evaluate("rows + 1", NAMES)


def test_unknown_key_in_a_file_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump({"params": {"n_estimators": {"type": "int", "low": 1, "high": 9, "default": 2, "step": 1}}}))
    with pytest.raises(SpaceError, match=r"custom\.yaml, parameter 'n_estimators'.*unknown key 'step'"):
        load_file(path)
    path.write_text(yaml.safe_dump({"params": {"a": {"type": "int", "low": 1, "high": 9, "default": 2}}, "extra": 1}))
    with pytest.raises(SpaceError, match=r"custom\.yaml has unknown key 'extra'"):
        load_file(path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "integer", "low": 1, "high": 2, "default": 1}, "type 'integer' is unknown"),
        ({"type": "int", "low": 1, "high": 2}, "'default' is missing"),
        ({"type": "float", "low": 0, "high": 1, "default": 0.5, "log": True}, "log-scale parameter needs low > 0"),
        ({"type": "categorical", "choices": ["a"], "default": "b"}, "default 'b' is not one of the choices"),
        ({"type": "int", "low": "n_rowz", "high": 2, "default": 1}, "not a valid bound expression"),
        ({"type": "int", "high": 2, "default": 1}, "'low' is missing"),
    ],
)
def test_bad_parameter_definitions(spec: dict, message: str) -> None:
    with pytest.raises(SpaceError, match=message):
        parse_space({"params": {"p": spec}}, source="inline")


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SpaceError, match="nope.yaml' does not exist"):
        load_file(tmp_path / "nope.yaml")


def test_dict_override_changes_only_what_it_names() -> None:
    space = merge_overrides(load_builtin("lgbm"), {"n_estimators": {"high": 64}, "subsample": {"type": "float", "low": 0.5, "high": 1.0, "default": 1.0}})
    assert space["n_estimators"].high == 64 and space["n_estimators"].low == 4 and space["n_estimators"].log
    assert space["subsample"].default == 1.0


def test_grid_visits_defaults_first_and_is_finite() -> None:
    rf = load_builtin("rf").for_task("classification", NAMES)
    lr = load_builtin("lr").for_task("classification", NAMES)
    points = list(JointSpace({"lr": lr, "rf": rf}).grid(resolution=3))
    assert points[0] == ("lr", lr.default_config())
    assert points[1] == ("rf", rf.default_config())
    rf_size = math.prod(len(grid_values(p, 3)) for p in rf.params)
    assert len(points) == len(grid_values(lr["C"], 3)) + rf_size
    assert len(set(map(repr, points))) == len(points)
    assert all(JointSpace({"lr": lr, "rf": rf}).contains(f, c) for f, c in points)


def test_overriding_a_categorical_parameters_default_keeps_it_categorical() -> None:
    space = merge_overrides(load_builtin("arima"), {"auto_order": {"default": False}})
    assert space["auto_order"].default is False and space["auto_order"].choices == (True, False)


def test_conditions_make_a_parameter_exist_only_where_they_hold() -> None:
    space = load_builtin("mlp").for_task("classification", NAMES)
    assert space.conditional and space.default_config()["n_layers"] == 2
    assert {"width_1", "width_2", "dropout_2"} <= set(space.default_config())
    assert not {"width_3", "dropout_6"} & set(space.default_config())  # two layers: no third width
    full = {p.name: p.default for p in space.params}
    assert set(space.active({**full, "n_layers": 4})) - set(space.default_config()) == {"width_3", "width_4",
                                                                                        "dropout_3", "dropout_4"}
    assert "if n_layers >= 3" in space["width_3"].describe()
    both = parse_space({"params": {"kind": {"type": "categorical", "choices": ["a", "b"], "default": "a"},
                                   "k": {"type": "int", "low": 1, "high": 3, "default": 1},
                                   "x": {"type": "float", "low": 0, "high": 1, "default": 0.5,
                                         "condition": "kind in ('b',) and not k < 2"},
                                   "y": {"type": "float", "low": 0, "high": 1, "default": 0.5, "condition": "x > 0.2"}}},
                       "inline")
    assert both.active({"kind": "b", "k": 2, "x": 0.3, "y": 0.1}) == {"kind": "b", "k": 2, "x": 0.3, "y": 0.1}
    assert both.active({"kind": "a", "k": 2, "x": 0.3, "y": 0.1}) == {"kind": "a", "k": 2}  # y names an inactive x
    assert not JointSpace({"f": both}).contains("f", {"kind": "a", "k": 2, "x": 0.3})  # x is inactive there
    either = parse_space({"params": {"kind": {"type": "categorical", "choices": ["a", "b"], "default": "a"},
                                     "x": {"type": "float", "low": 0, "high": 1, "default": 0.5, "condition": "kind == 'b'"},
                                     "y": {"type": "float", "low": 0, "high": 1, "default": 0.5,
                                           "condition": "kind == 'a' or x > 0.2"}}}, "inline")
    assert either.active({"kind": "a", "x": 0.1, "y": 0.1}) == {"kind": "a", "y": 0.1}  # or: x is not needed there
    assert either.active({"kind": "b", "x": 0.1, "y": 0.1}) == {"kind": "b", "x": 0.1}


@pytest.mark.parametrize(("condition", "message"), [
    ("depth >= 2", r"condition 'depth >= 2' is not valid \('depth' is not a parameter declared before this one \(k\)\)"),
    ("w > 2", r"condition 'w > 2' is not valid \('w' is not a parameter declared before this one"),  # itself
    ("k + 1", r"condition 'k \+ 1' is not valid \(unsupported condition part 'k \+ 1'\)"),
    ("k >=", r"condition 'k >=' is not valid"),
    (3, r"condition 3 must be a string such as \"n_layers >= 3\""),
])
def test_a_bad_condition_names_the_parameter_and_says_what_to_write(condition: object, message: str) -> None:
    spec = {"params": {"k": {"type": "int", "low": 1, "high": 3, "default": 1},
                       "w": {"type": "int", "low": 1, "high": 3, "default": 1, "condition": condition}}}
    with pytest.raises(SpaceError, match=r"In search space inline, parameter 'w': " + message):
        parse_space(spec, "inline")
    with pytest.raises(SpaceError, match=message):  # an override is checked as a file is
        merge_overrides(parse_space({"params": spec["params"] | {"w": {**spec["params"]["w"], "condition": None}}},
                                    "inline"), {"w": {"condition": condition}})
