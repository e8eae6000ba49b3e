"""Safe evaluation of data-dependent bounds such as ``"min(4096, n_rows)"``."""

from __future__ import annotations

import ast
import math
import operator
from typing import Callable, Mapping

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
