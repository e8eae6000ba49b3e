"""Safe evaluation of data-dependent bounds such as ``"min(4096, n_rows)"`` and of parameter conditions such as
``"n_layers >= 3"``."""

from __future__ import annotations

import ast
import functools
import math
import operator
from typing import Any, Callable, Mapping, Sequence

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {"min": min, "max": max, "int": int, "sqrt": math.sqrt, "log2": math.log2}
BOUND_NAMES = ("n_rows", "n_features", "n_classes")


def check_expression(text: str) -> None:
    """Raise ``ValueError`` unless ``text`` only uses numbers, bound names and min/max/int/sqrt/log2."""
    _walk(ast.parse(text, mode="eval").body, None)


def evaluate(text: str, names: Mapping[str, float]) -> float:
    """Evaluate a checked bound expression with the data's ``names``."""
    return _walk(ast.parse(text, mode="eval").body, names)


def _walk(node: ast.AST, names: Mapping[str, float] | None) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in BOUND_NAMES:
            raise ValueError(f"unknown name {node.id!r} (use {', '.join(BOUND_NAMES)})")
        return 1.0 if names is None else float(names[node.id])
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return _BINARY[type(node.op)](_walk(node.left, names), _walk(node.right, names))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_walk(node.operand, names)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        return _FUNCTIONS[node.func.id](*(_walk(arg, names) for arg in node.args))
    raise ValueError(f"unsupported expression part {ast.dump(node)[:60]!r}")


class _Inactive(Exception):
    """A condition names a parameter that is itself inactive: the condition does not hold."""


_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


@functools.lru_cache(maxsize=512)
def _parsed(text: str) -> ast.expr:
    """A condition's syntax tree, parsed once: conditions are evaluated at every ask."""
    return ast.parse(text, mode="eval").body


def check_condition(text: str, earlier: Sequence[str]) -> None:
    """Raise ``ValueError`` unless ``text`` is a condition over the parameters ``earlier`` (declared before it):
    comparisons (``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``) of them with numbers, strings and
    booleans, joined by ``and`` / ``or`` / ``not``; e.g. ``"n_layers >= 3"``, ``"normalization != 'none'"``."""
    _condition(_parsed(text), None, tuple(earlier))


def condition_holds(text: str, values: Mapping[str, Any]) -> bool:
    """Whether the checked condition ``text`` holds for the active parameters ``values`` (a condition naming an
    inactive parameter does not hold)."""
    try:
        return bool(_condition(_parsed(text), values, ()))
    except _Inactive:
        return False


def _condition(node: ast.AST, values: Mapping[str, Any] | None, earlier: tuple[str, ...]) -> Any:
    if isinstance(node, ast.BoolOp):  # short-circuit: "kind == 'a' or width > 4" holds for kind a without width
        parts = (_condition(v, values, earlier) for v in node.values)
        if values is None:
            return [*parts] and None
        return all(parts) if isinstance(node.op, ast.And) else any(parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _condition(node.operand, values, earlier)
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left, held = _condition(node.left, values, earlier), True
        for op, right_node in zip(node.ops, node.comparators):
            right = _condition(right_node, values, earlier)
            held = held and (values is None or _COMPARE[type(op)](left, right))
            left = right
        return held
    if isinstance(node, ast.Name):
        if values is None:
            if node.id not in earlier:
                raise ValueError(f"{node.id!r} is not a parameter declared before this one "
                                 f"({', '.join(earlier) or 'none is'})")
            return None
        if node.id not in values:
            raise _Inactive(node.id)
        return values[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
        return node.value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_condition(e, values, earlier) for e in node.elts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        operand = _condition(node.operand, values, earlier)
        return None if values is None else -operand
    raise ValueError(f"unsupported condition part {ast.unparse(node)!r}")
