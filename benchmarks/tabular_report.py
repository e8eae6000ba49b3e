"""The summary of a tabular suite run (benchmarks/tabular_suite.py): scores, wins/ties/losses, normalised scores.

Definitions (the record's ``summary.definitions`` repeats them):

* per (dataset, seed), automl against another tool with scores ``a`` and ``t``: a tie when
  ``|a - t| <= 0.005 * max(|a|, |t|)`` (0.5 % of the larger magnitude; for log_loss, lower is better, that is
  0.5 % of the larger loss), else a win when automl is better in the metric's direction (higher roc_auc or
  r2, lower log_loss), else a loss. A tool that failed loses to one that scored; two failures tie.
* normalised score per (dataset, seed) and tool: ``(score - constant) / (best - constant)``, ``constant`` the
  score of the constant prediction (training class priors / training mean), ``best`` the best score of the
  tools in that run; 1 is the best tool, 0 the constant, negative worse than it. The same formula serves a
  lower-is-better metric (both differences change sign). A failed fit counts as the constant (0), as the
  AutoML benchmark imputes failures; a pair where no tool beat the constant is left out.
* wall / budget: the fit call's wall time (measured around it in the tool's process) over the budget; the
  target allows ``1.05 * budget + 1 s``.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

TIE = 0.005
GREATER = {"roc_auc": True, "r2": True, "log_loss": False}


def compare(a: float | None, t: float | None, greater: bool) -> str:
    """"win", "tie" or "loss" of score ``a`` (automl) against ``t``; None is a failed fit."""
    if a is None or t is None:
        return "tie" if a is None and t is None else ("loss" if a is None else "win")
    if abs(a - t) <= TIE * max(abs(a), abs(t)):
        return "tie"
    return "win" if (a > t) == greater else "loss"


def _score(frame: pd.DataFrame, tool: str) -> float | None:
    got = frame.loc[frame.tool == tool, "test_score"]
    value = got.iloc[0] if len(got) else None
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def summarize(rows: list[dict[str, Any]], tools: list[str], budget: float) -> dict[str, Any]:
    """Per-dataset means, automl's wins/ties/losses, mean normalised scores and worst wall / budget per tool."""
    frame = pd.DataFrame(rows)
    others = [t for t in tools if t != "automl"] if "automl" in tools else []
    per_dataset, wtl = [], {t: {"win": 0, "tie": 0, "loss": 0} for t in others}
    normalised: dict[str, list[float]] = {t: [] for t in tools}
    skipped = 0
    for (name, seed), run in frame.groupby(["dataset", "seed"], sort=False):
        greater = GREATER[run.metric.iloc[0]]
        scores = {t: _score(run, t) for t in tools}
        constant = _score(run, "constant")
        for t in others:
            wtl[t][compare(scores["automl"], scores[t], greater)] += 1
        scored = [s for s in scores.values() if s is not None]
        best = (max if greater else min)(scored) if scored else None
        if best is None or constant is None or best == constant or (best < constant) == greater:
            skipped += 1
            continue
        for t in tools:
            normalised[t].append(0.0 if scores[t] is None else (scores[t] - constant) / (best - constant))
    for name, group in frame.groupby("dataset", sort=False):
        entry: dict[str, Any] = {"dataset": name, "task": group.task.iloc[0], "metric": group.metric.iloc[0]}
        for t in ["constant", *tools]:
            mine = group[group.tool == t]
            entry[t] = round(float(mine.test_score.mean()), 5) if mine.test_score.notna().any() else None
            if t != "constant":
                entry[f"{t}_failed"] = int(mine.test_score.isna().sum())
                entry[f"{t}_trials"] = int(mine.trials.mean()) if mine.trials.notna().any() else None
        per_dataset.append(entry)
    fits = frame[frame.tool != "constant"]
    worst = {t: float(fits.loc[fits.tool == t, "wall_over_budget"].max()) for t in tools
             if fits.loc[fits.tool == t, "wall_over_budget"].notna().any()}
    limit = (1.05 * budget + 1.0) / budget
    mean_norm = {t: round(sum(v) / len(v), 4) if v else None for t, v in normalised.items()}
    targets: dict[str, Any] = {"wall_limit_over_budget": round(limit, 4),
                               "worst_wall_within_limit": {t: w <= limit for t, w in worst.items()}}
    if "automl" in tools and "autogluon" in tools and None not in (mean_norm["automl"], mean_norm["autogluon"]):
        targets["automl_norm_at_least_autogluon"] = mean_norm["automl"] >= mean_norm["autogluon"]
    if "flaml" in wtl:
        targets["automl_wins_at_least_2x_losses_vs_flaml"] = wtl["flaml"]["win"] >= 2 * wtl["flaml"]["loss"]
    return {"per_dataset": per_dataset, "wins_ties_losses": wtl, "mean_normalised_score": mean_norm,
            "normalised_pairs": len(next(iter(normalised.values()), [])), "normalised_pairs_skipped": skipped,
            "failures": {t: int(fits.loc[fits.tool == t, "test_score"].isna().sum()) for t in tools},
            "worst_wall_over_budget": {t: round(w, 3) for t, w in worst.items()}, "targets": targets,
            "definitions": __doc__.split("Definitions (the record's ``summary.definitions`` repeats them):")[1].strip()}


def table(summary: dict[str, Any], tools: list[str]) -> str:
    """A compact text table of the summary."""
    cols = ["dataset", "metric", "constant", *tools]
    frame = pd.DataFrame(summary["per_dataset"])[cols]
    lines = [frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"), ""]
    for t, c in summary["wins_ties_losses"].items():
        lines.append(f"automl vs {t}: {c['win']} wins, {c['tie']} ties, {c['loss']} losses")
    norm = summary["mean_normalised_score"]
    lines.append("mean normalised score: " + ", ".join(f"{t} {norm[t]}" for t in tools))
    lines.append("worst wall / budget: " + (", ".join(f"{t} {w}" for t, w in summary["worst_wall_over_budget"].items()) or "-")
                 + f" (limit {summary['targets']['wall_limit_over_budget']})")
    lines.append("failures: " + ", ".join(f"{t} {n}" for t, n in summary["failures"].items()))
    return "\n".join(lines)
