"""Render a job record as one self-contained HTML page (plotly.js embedded, no network needed)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from automl_dashboards import charts
from automl_dashboards.record import JobRecord

LEADERBOARD_ROWS = 25
FACTS = [("task", "task"), ("metric", "metric"), ("rows", "n_rows"), ("features", "n_features"),
         ("categorical features", "n_categorical"), ("classes", "n_classes"), ("time budget (s)", "time_budget"),
         ("max trials", "max_trials"), ("strategy", "strategy"), ("early stopping", "early_stop"),
         ("validation", "eval_method"), ("estimator families", "estimators"), ("backend", "backend"),
         ("concurrent trials", "n_concurrent_trials"), ("seed", "seed"), ("data fingerprint", "data_fingerprint")]


@dataclass
class Section:
    id: str
    title: str
    charts: list[str] = field(default_factory=list)
    note: str = ""
    empty: str = ""  # shown instead of the charts when there are none; without it such a section is left out


def render_report(record: JobRecord, importance: str = "ped-anova", version: str = "") -> str:
    """The report page for ``record``; ``importance`` is "ped-anova" (fast) or "fanova"."""
    counter = iter(range(1_000_000))

    def embed(*figures: go.Figure | None) -> list[str]:
        return [fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"chart-{next(counter)}",
                            config={"displaylogo": False}) for fig in figures if fig is not None]

    sections = [
        Section("forecast", "Forecasts", embed(*charts.forecast_charts(record)),
                "The history, the best model's backtest forecasts (dotted) and its forecast of the next horizon "
                "with its 90% interval; the first four series of a panel."),
        Section("queries", "Per-query metric", embed(charts.per_query_chart(record)),
                "The best trial's metric on each validation query it was scored on (queries whose labels are all "
                "equal are left out, as in the average)."),
        Section("pareto", "Pareto front", embed(*charts.pareto_charts(record)),
                "A multi-objective job: every ok trial's score against each measured objective (latency per row "
                "includes the feature transform); the line joins the trials no other beats on every objective."),
        Section("progress", "Best score over time and over trials", embed(charts.best_over_time(record), charts.best_over_trials(record))),
        Section("hyperparameters", "Hyperparameters against score",
                embed(*(charts.parallel_coordinates(record, f) for f in charts.parcoords_families(record))),
                "One chart per estimator family (their hyperparameters differ), for the four families with the most "
                "finished trials; parameters searched on a log scale have log axes; drag along an axis to filter.",
                "No family has 3 finished trials whose hyperparameters differ yet: nothing to compare."),
        Section("importance", "Hyperparameter importance", embed(charts.hyperparameter_importance(record, importance)),
                "Computed per family over its finished trials; families with fewer than 6 such trials are left out.",
                "No family has 6 finished trials whose hyperparameters differ, which importance needs."),
        Section("early-stopping", "Intermediate results", embed(charts.intermediate_curves(record)),
                "What early stopping compared: the running mean over folds, or the validation loss at boosting rounds.",
                "No trial reported intermediate results (early stopping was off, or nothing was stopped on)."),
        Section("features", "Feature importance", embed(charts.feature_importance_chart(record))),
        Section("time", "Where the time went", embed(charts.budget_split(record), charts.duration_by_family(record))),
    ]
    best = record.best()
    stopped = record.trials[record.trials.status != "ok"]
    page = _template().render(
        title=f"automl job report: {record.job.get('task', '')} / {record.metric}",
        lede=_lede(record, best), css=resources.files("automl_dashboards").joinpath("templates/report.css").read_text(),
        plotly_js=plotly.offline.get_plotlyjs(), sections=sections, facts=_facts(record),
        leaderboard=_table(_leaderboard(record), "trials"), leaderboard_rows=min(LEADERBOARD_ROWS, len(record.trials)),
        ensemble=_table(pd.DataFrame(record.ensemble), "trials") if record.ensemble else "",
        ensemble_note=_ensemble_note(record, best),
        n_trials=len(record.trials), stopped=_table(_stopped(stopped), "trials"), n_stopped=len(stopped),
        version=version, run_id=record.run_id,
    )
    return page


def _template() -> jinja2.Template:
    source = resources.files("automl_dashboards").joinpath("templates/report.html").read_text()
    return jinja2.Environment(autoescape=True).from_string(source)


def _ensemble_note(record: JobRecord, best: pd.Series | None) -> str:
    if not record.ensemble or record.ensemble_score is None or best is None:
        return ""
    gain = record.ensemble_score - best.score if record.maximize else best.score - record.ensemble_score
    return (f"Shipped: an ensemble of {len(record.ensemble)} trials with validation {record.metric} = "
            f"{record.ensemble_score:.5g}, {gain:+.4g} over the best single trial ({best.score:.5g}).")


def _lede(record: JobRecord, best: pd.Series | None) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in record.trials.status.value_counts().items())
    if best is None:
        return f"{len(record.trials)} trials ({counts}); none finished."
    return (f"Best: {best.estimator} (trial {int(best.trial_id)}) with {record.metric} = {best.score:.5g} "
            f"after {len(record.trials)} trials ({counts}).")


def _facts(record: JobRecord) -> list[tuple[str, Any]]:
    facts = [(label, record.job[key]) for label, key in FACTS if record.job.get(key) not in (None, "None", "")]
    if record.job.get("strategy_reason"):
        facts.append(("why this strategy", record.job["strategy_reason"]))
    return facts


def _leaderboard(record: JobRecord) -> pd.DataFrame:
    ok = record.trials[record.trials.status == "ok"].sort_values("score", ascending=not record.maximize)
    board = pd.concat([ok, record.trials[record.trials.status != "ok"]]).head(LEADERBOARD_ROWS)
    params = [c for c in board.columns if c.startswith("param.")]
    shown = board[["trial_id", "estimator", "status", "score", "duration_s"]].copy()
    shown["configuration"] = [", ".join(f"{c[6:]}={charts.short(row[c])}" for c in params if pd.notna(row[c])) for _, row in board.iterrows()]
    return shown


def _stopped(stopped: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in ("trial_id", "estimator", "status", "last_step", "duration_s", "error") if c in stopped.columns]
    return stopped[columns].rename(columns={"error": "reason"})


def _table(frame: pd.DataFrame, css_class: str) -> str:
    header = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            text = "" if pd.isna(value) else f"{value:.5g}" if isinstance(value, float) else str(value)
            cells.append(f'<td{" class=num" if number else ""}>{html.escape(text)}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f'<table class="{css_class}"><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
