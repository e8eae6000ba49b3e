"""Name -> component registries with lazy loading and "did you mean" hints."""

from __future__ import annotations

import difflib
import importlib
from typing import Generic, Iterator, TypeVar

from automl.errors import InputError

T = TypeVar("T")


def did_you_mean(value: str, choices: list[str]) -> str:
    """Return ' Did you mean "x"?' for the closest choice, or an empty string."""
    close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.5)
    return f' Did you mean "{close[0]}"?' if close else ""


def unknown_name_error(kind: str, parameter: str, value: object, choices: list[str]) -> InputError:
    """Build the one-sentence error for an unknown registry name."""
    return InputError(
        f'Unknown {kind} "{value}" for {parameter}.{did_you_mean(str(value), choices)} '
        f"Choose one of: {', '.join(sorted(choices))}."
    )


class Registry(Generic[T]):
    """Maps names to components given as objects or as lazy ``"module:attr"`` paths."""

    def __init__(self, kind: str, parameter: str) -> None:
        self.kind = kind
        self.parameter = parameter
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, component: T | str) -> None:
        """Register ``component`` (or a lazy ``"module:attr"`` path) under ``name``."""
        self._entries[name] = component

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def get(self, name: str) -> T:
        """Return the component, importing it on first use."""
        if name not in self._entries:
            raise unknown_name_error(self.kind, self.parameter, name, self.names())
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attr = entry.partition(":")
            entry = getattr(importlib.import_module(module), attr)
            self._entries[name] = entry
        return entry  # type: ignore[return-value]
