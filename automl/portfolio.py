"""Portfolio warm start: configurations known to work on data of a similar shape, tried before the search's own.

The portfolio (``searchspaces/portfolio.json``, written by ``python -m benchmarks.portfolio_mine``) holds, for
each data set of the project's benchmark collection, its shape (rows, features, classes, share of categorical
columns) and each family's best configurations found by a search on its training rows. A job starts each
family's search with the best configuration of the data sets nearest to its own data in shape (as FLAML's
zero-shot defaults and AutoGluon's portfolios do): after the family's default, before the strategy's draws.
Configurations are fitted into the job's space (clipped to its bounds, parameters it lacks dropped, missing
ones at their defaults), so a narrowed space or an older portfolio never puts a trial outside the space.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Mapping

from automl.errors import InputError
from automl.space import JointSpace, SearchSpace

#: The task kinds a portfolio serves (tabular); other kinds (forecast, rank) search from their defaults.
KINDS = ("binary", "multiclass", "regression")
#: Nearest data sets whose best configuration each family starts from.
NEAREST = 2
#: The most a start's estimated cost (its fits on every fold, on one thread) may take of the time budget: the
#: portfolio's configurations come from 45 s searches, and on a short budget a costly start is a gamble.
START_BUDGET_SHARE = 0.05
#: Distance added between data of another task kind (a regression portfolio is a poor start for a classifier).
OTHER_KIND = 2.0


@dataclass(frozen=True)
class DataShape:
    """What the choice of starting configurations looks at: the task kind and the data's size and mix."""

    kind: str
    rows: int
    features: int
    categorical_share: float = 0.0
    classes: int = 0

    @classmethod
    def of(cls, kind: str, n_rows: int, n_features: int, n_categorical: int, n_classes: int) -> "DataShape":
        """The shape of data with these counts (a job's ``DataSummary``, or the ``n_*`` of its parameters)."""
        return cls(str(kind), int(n_rows), int(n_features), int(n_categorical) / max(int(n_features), 1),
                   int(n_classes or 0))

    def distance(self, other: "DataShape") -> float:
        """Orders of magnitude apart in rows and in features, plus the difference in categorical share (and in
        classes, log2), plus :data:`OTHER_KIND` for another task kind."""
        log = lambda a, b, base: abs(math.log(max(a, 1), base) - math.log(max(b, 1), base))  # noqa: E731
        return (log(self.rows, other.rows, 10) + log(self.features, other.features, 10)
                + abs(self.categorical_share - other.categorical_share)
                + 0.25 * log(max(self.classes, 1), max(other.classes, 1), 2)
                + (0.0 if self.kind == other.kind else OTHER_KIND))


@dataclass(frozen=True)
class PortfolioEntry:
    """One data set of the collection: its shape and each family's best configurations on it, best first."""

    dataset: str
    shape: DataShape
    configs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Portfolio:
    """The collection's entries; :meth:`starts` picks a job's starting configurations by data shape."""

    entries: tuple[PortfolioEntry, ...]
    source: str = "<memory>"

    @classmethod
    def shipped(cls) -> "Portfolio":
        """The portfolio shipped with automl (``searchspaces/portfolio.json``)."""
        text = resources.files("automl.searchspaces").joinpath("portfolio.json").read_text(encoding="utf-8")
        return cls.parse(json.loads(text), "the shipped portfolio")

    @classmethod
    def load(cls, path: str | Path) -> "Portfolio":
        """A portfolio file (as ``benchmarks/portfolio_mine.py`` writes it); one sentence if it is not one."""
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"warm_start={str(path)!r}: no such portfolio file; pass True for the shipped portfolio, "
                             "False for none, or the path of a file benchmarks/portfolio_mine.py wrote.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"warm_start={str(path)!r} is not a portfolio file ({exc}); pass the path of a file "
                             "benchmarks/portfolio_mine.py wrote.") from None
        return cls.parse(document, str(path))

    @classmethod
    def parse(cls, document: Any, source: str) -> "Portfolio":
        try:
            entries = tuple(
                PortfolioEntry(str(e["dataset"]), DataShape(**e["shape"]),
                               {str(f): [dict(c) for c in cs] for f, cs in e["configs"].items()})
                for e in document["entries"])
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{source} is not a portfolio file (missing or malformed {exc}); its entries each need "
                             "dataset, shape and configs, as benchmarks/portfolio_mine.py writes them.") from None
        return cls(entries, source)

    def to_json(self) -> dict[str, Any]:
        return {"entries": [{"dataset": e.dataset, "shape": e.shape.__dict__, "configs": e.configs}
                            for e in self.entries]}

    def without(self, *datasets: str) -> "Portfolio":
        """The portfolio without the named data sets' entries (a held-out evaluation)."""
        return Portfolio(tuple(e for e in self.entries if e.dataset not in datasets), self.source)

    def ranked(self, shape: DataShape) -> list[PortfolioEntry]:
        """The entries nearest to ``shape`` first (none for a task kind the portfolio does not serve)."""
        if shape.kind not in KINDS:
            return []
        return sorted(self.entries, key=lambda e: (e.shape.distance(shape), e.dataset))

    def starts(self, shape: DataShape, space: JointSpace, nearest: int = NEAREST,
               affordable: Callable[[str, dict[str, Any]], bool] | None = None) -> dict[str, list[dict[str, Any]]]:
        """Per family of ``space``, the best configuration of each of the ``nearest`` entries closest to ``shape``
        that have one, fitted into the space; the family's default, repeats and configurations that are not
        ``affordable`` (too costly for the job's budget) are left out, and only the ``2 * nearest`` closest
        entries are looked at. Empty for a task kind the portfolio does not serve."""
        ranked = self.ranked(shape)[:2 * nearest]
        starts: dict[str, list[dict[str, Any]]] = {}
        for family, family_space in space.spaces.items():
            default = family_space.default_config()
            chosen: list[dict[str, Any]] = []
            for entry in ranked:
                if len(chosen) == nearest:
                    break
                if not entry.configs.get(family):
                    continue
                config = fit_into(family_space, entry.configs[family][0])
                if config != default and config not in chosen and (affordable is None or affordable(family, config)):
                    chosen.append(config)
            if chosen:
                starts[family] = chosen
        return starts


def fit_into(space: SearchSpace, config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` as a configuration of ``space``: each active parameter's value clipped into its bounds (a choice
    the space lacks, or a parameter the config lacks, at the default); parameters the space lacks are dropped."""

    def value(param: Any) -> Any:
        if param.name not in config:
            return param.default
        given = config[param.name]
        if param.type == "categorical":
            return given if given in (param.choices or ()) else param.default
        if not isinstance(given, (int, float)) or isinstance(given, bool) or not math.isfinite(given):
            return param.default
        return param.clip(given)

    return space.sample(value)


def resolve_warm_start(warm_start: Any) -> Portfolio | None:
    """The portfolio ``warm_start`` names: True the shipped one, a path a file of one, False none."""
    if warm_start is True:
        return Portfolio.shipped()
    if warm_start is False or warm_start is None:
        return None
    if isinstance(warm_start, Portfolio):
        return warm_start
    if isinstance(warm_start, (str, Path)):
        return Portfolio.load(warm_start)
    raise InputError(f"warm_start={warm_start!r} is invalid; pass True (the shipped portfolio), False (start from "
                     "the defaults only) or the path of a portfolio file.")
