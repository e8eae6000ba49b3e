"""Ranking metrics per query: NDCG, MAP, MRR and precision at a cutoff, vectorised over all queries at once.

Conventions (the same in validation, in round reports and in ``AutoML.score``):

- Rows are ordered within their query by descending score; **tied scores are ordered worst first** (lower
  labels first), so a constant scorer earns no credit from the row order it was given.
- NDCG uses the exponential gain ``2**label - 1`` and the discount ``1 / log2(position + 1)`` (LightGBM's and
  XGBoost's), normalised by the ideal ordering's DCG at the same cutoff.
- MAP, MRR and precision treat a label > 0 as relevant. AP@k divides by ``min(k, relevant rows)``; precision@k
  divides by ``k`` (trec_eval's rule); MRR@k is 0 when no relevant row is in the top k.
- **A query whose rows all have the same label (a single row included) is left out of the average**: every
  ordering of it scores the same, so it says nothing about the ranker. With no query left the value is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

#: (labels, scores, query codes 0..q-1, cutoff or None) -> one value per query (NaN for excluded ones)
PerQuery = Callable[[np.ndarray, np.ndarray, np.ndarray, "int | None"], np.ndarray]


def query_codes(groups: np.ndarray) -> np.ndarray:
    """Query ids of any type as codes 0..q-1 (in order of first appearance)."""
    import pandas as pd

    return pd.factorize(np.asarray(groups))[0].astype(np.int64)


class _Ranked:
    """Rows sorted by query, then descending score, then ascending label; each row's 0-based position in its query."""

    def __init__(self, labels: np.ndarray, scores: np.ndarray, codes: np.ndarray) -> None:
        order = np.lexsort((labels, -scores, codes))
        self.labels, self.codes = labels[order], codes[order]
        self.n_queries = int(codes.max()) + 1 if len(codes) else 0
        self.sizes = np.bincount(codes, minlength=self.n_queries)
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.position = np.arange(len(order)) - self.starts[self.codes]

    def per_query(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=values, minlength=self.n_queries)


def informative(labels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per query: whether its labels differ (the queries that count)."""
    n = int(codes.max()) + 1 if len(codes) else 0
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    np.minimum.at(low, codes, labels)
    np.maximum.at(high, codes, labels)
    return high > low


def _cutoff(ranked: _Ranked, k: int | None) -> np.ndarray:
    return np.ones(len(ranked.position), bool) if k is None else ranked.position < k


def _dcg(ranked: _Ranked, k: int | None) -> np.ndarray:
    return ranked.per_query((2.0 ** ranked.labels - 1) / np.log2(ranked.position + 2) * _cutoff(ranked, k))


def ndcg(labels: np.ndarray, scores: np.ndarray, codes: np.ndarray, k: int | None) -> np.ndarray:
    ideal = _dcg(_Ranked(labels, labels.astype(float), codes), k)  # the rows sorted by their own labels
    with np.errstate(invalid="ignore", divide="ignore"):
        return _only_informative(_dcg(_Ranked(labels, scores, codes), k) / ideal, labels, codes)


def average_precision(labels: np.ndarray, scores: np.ndarray, codes: np.ndarray, k: int | None) -> np.ndarray:
    ranked = _Ranked(labels, scores, codes)
    relevant = (ranked.labels > 0).astype(float)
    seen = np.cumsum(relevant)
    seen -= np.concatenate([[0.0], seen])[ranked.starts][ranked.codes]  # relevant rows so far within the query
    hits = ranked.per_query(relevant * seen / (ranked.position + 1) * _cutoff(ranked, k))
    total = ranked.per_query(relevant)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _only_informative(hits / (total if k is None else np.minimum(total, k)), labels, codes)


def reciprocal_rank(labels: np.ndarray, scores: np.ndarray, codes: np.ndarray, k: int | None) -> np.ndarray:
    ranked = _Ranked(labels, scores, codes)
    first = np.full(ranked.n_queries, np.inf)
    hit = (ranked.labels > 0) & _cutoff(ranked, k)
    np.minimum.at(first, ranked.codes[hit], ranked.position[hit])
    return _only_informative(1.0 / (first + 1), labels, codes)


def precision(labels: np.ndarray, scores: np.ndarray, codes: np.ndarray, k: int | None) -> np.ndarray:
    assert k is not None  # precision is only offered with a cutoff
    ranked = _Ranked(labels, scores, codes)
    return _only_informative(ranked.per_query((ranked.labels > 0) * _cutoff(ranked, k)) / k, labels, codes)


def _only_informative(values: np.ndarray, labels: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return np.where(informative(labels, codes), values, np.nan)


def per_query(fn: PerQuery, labels: np.ndarray, scores: np.ndarray, groups: np.ndarray, k: int | None) -> np.ndarray:
    """The metric of each informative query (excluded ones dropped), in order of the queries' first rows."""
    values = fn(np.asarray(labels, dtype=float), np.asarray(scores, dtype=float), query_codes(groups), k)
    return values[~np.isnan(values)]


@dataclass(frozen=True)
class QueryMean:
    """A metric at cutoff ``k`` as ``(labels, scores, groups) -> mean over informative queries`` (NaN if none)."""

    fn: PerQuery
    k: int | None

    def __call__(self, labels: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> float:
        values = self.per_query(labels, scores, groups)
        return float(values.mean()) if len(values) else float("nan")

    def per_query(self, labels: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
        return per_query(self.fn, labels, scores, groups, self.k)


#: Metric families by base name; a name is ``base`` (no cutoff) or ``base@k``. Precision needs its k.
FAMILIES: dict[str, tuple[PerQuery, bool]] = {  # base -> (per-query function, whether the cutoff is required)
    "ndcg": (ndcg, False), "map": (average_precision, False), "mrr": (reciprocal_rank, False),
    "precision": (precision, True),
}
