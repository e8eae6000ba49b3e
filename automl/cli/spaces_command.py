"""``automl spaces list | show``: the shipped search spaces, as a user reads them."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from automl.estimators import ESTIMATORS, get_adapter


def list_spaces(console: Console) -> None:
    table = Table(title="Estimator families")
    for column in ("family", "tasks", "parameters", "space file"):
        table.add_column(column)
    for name in ESTIMATORS.names():
        adapter = get_adapter(name)
        space = adapter.search_space()
        table.add_row(name, ", ".join(adapter.tasks), ", ".join(p.name for p in space.params), space.source)
    console.print(table)


def show_space(family: str, console: Console) -> None:
    space = get_adapter(family).search_space()
    console.print(f"[bold]{family}[/] ({space.source})")
    for param in space.params:
        console.print(f"  {param.describe()}", markup=False)
