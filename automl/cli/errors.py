"""Turn the package's errors into one line on stderr and a non-zero exit."""

from __future__ import annotations

import contextlib
from typing import Iterator

import typer
from rich.console import Console
from rich.markup import escape

from automl.errors import AutoMLError

EXIT_BAD_INPUT = 2
stderr = Console(stderr=True, highlight=False)


@contextlib.contextmanager
def one_line_errors() -> Iterator[None]:
    """Report ``AutoMLError`` as ``error: ...`` and exit with status 2, without a traceback."""
    try:
        yield
    except AutoMLError as exc:
        stderr.print(f"[red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
