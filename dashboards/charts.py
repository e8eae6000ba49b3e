"""The report's interactive charts (plotly figures), one function per chart; ``None`` when there is nothing to show."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from automl.pareto import nondominated
from automl_dashboards.importance import param_importance
from automl_dashboards.record import JobRecord

LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"l": 60, "r": 20, "t": 40, "b": 50}}
STATUS_COLOURS = {"ok": "#2b7bba", "infeasible": "#b07aa1", "pruned": "#f28e2b", "timeout": "#9c755f", "failed": "#d62728"}


def _running_best(scores: pd.Series, maximize: bool) -> pd.Series:
    return scores.cummax() if maximize else scores.cummin()


def _focus(fig: go.Figure, scores: pd.Series, maximize: bool) -> None:
    """Show the range where the search happened: a few very bad trials would flatten the rest."""
    low, high = (scores.quantile(0.1), scores.max()) if maximize else (scores.min(), scores.quantile(0.9))
    pad = 0.08 * (high - low) or 0.01 * abs(high) or 0.01
    fig.update_yaxes(range=[low - pad, high + pad])


def best_over_time(record: JobRecord) -> go.Figure | None:
    """Best score so far against seconds since the first trial started, overall and per family."""
    ok = record.ok().dropna(subset=["score"])
    if ok.empty:
        return None
    start = float(record.trials.started_at.min())
    ok = ok.assign(finished=ok.started_at + ok.duration_s - start).sort_values("finished")
    fig = go.Figure()
    for family, rows in ok.groupby("estimator", sort=False):
        fig.add_scatter(x=rows.finished, y=rows.score, mode="markers", name=f"{family} trials", opacity=0.55,
                        text=[f"trial {i}" for i in rows.trial_id], hovertemplate="%{text}<br>%{y:.5g} at %{x:.1f}s")
        fig.add_scatter(x=rows.finished, y=_running_best(rows.score, record.maximize), mode="lines",
                        line={"shape": "hv", "width": 1}, name=f"{family} best")
    fig.add_scatter(x=ok.finished, y=_running_best(ok.score, record.maximize), mode="lines",
                    line={"shape": "hv", "width": 3, "color": "black"}, name="best overall")
    fig.update_layout(title="Best score over time", xaxis_title="seconds since the first trial", yaxis_title=record.metric, **LAYOUT)
    _focus(fig, ok.score, record.maximize)
    return fig


def best_over_trials(record: JobRecord) -> go.Figure | None:
    """Every trial's score in the order trials were asked, with the best so far."""
    trials = record.trials.sort_values("trial_id")
    if trials.score.notna().sum() == 0:
        return None
    fig = go.Figure()
    for status, rows in trials.groupby("status", sort=False):
        fig.add_scatter(x=rows.trial_id, y=rows.score, mode="markers", name=status,
                        marker={"color": STATUS_COLOURS.get(status, "gray")}, text=rows.estimator,
                        hovertemplate="trial %{x} (%{text})<br>%{y:.5g}")
    ok = trials[trials.status == "ok"].dropna(subset=["score"])
    fig.add_scatter(x=ok.trial_id, y=_running_best(ok.score, record.maximize), mode="lines",
                    line={"shape": "hv", "color": "black"}, name="best so far")
    fig.update_layout(title="Score by trial", xaxis_title="trial", yaxis_title=record.metric, **LAYOUT)
    if not ok.empty:
        _focus(fig, ok.score, record.maximize)
    return fig


def parcoords_families(record: JobRecord, limit: int = 4) -> list[str]:
    """The families with the most finished trials: each chart is a WebGL canvas, and browsers cap those per page."""
    counts = record.ok().estimator.value_counts()
    return [family for family, n in counts.items() if n >= 3][:limit]


def parallel_coordinates(record: JobRecord, family: str) -> go.Figure | None:
    """``family``'s hyperparameters against the score of its ok trials: log-scale parameters (as the space declares
    them) on log axes, categorical ones on categorical axes; parameters equal in every trial are named, not drawn."""
    rows = record.ok()[lambda f: f.estimator == family].dropna(subset=["score"])
    params = [c for c in rows.columns if c.startswith("param.") and rows[c].notna().all()]
    if len(rows) < 2 or not params:
        return None
    scales, dimensions, constant = record.scales(family), [], []
    for column in params:
        name, values = column[len("param."):], rows[column]
        if values.astype(str).nunique() == 1:
            constant.append(f"{name}={short(values.iloc[0])}")
        elif scales.get(name) == "categorical" or values.map(lambda v: isinstance(v, (str, bool))).any():
            dimensions.append(_categorical_axis(name, values))
        elif scales.get(name) == "log" and (values.astype(float) > 0).all():
            dimensions.append(_log_axis(name, values.astype(float)))
        else:
            dimensions.append({"label": name, "values": values.astype(float)})
    if not dimensions:
        return None
    dimensions.append({"label": record.metric, "values": rows.score})
    fig = go.Figure(go.Parcoords(line={"color": rows.score, "colorscale": "Viridis", "showscale": True,
                                       "reversescale": not record.maximize}, dimensions=dimensions))
    title = f"{family}: hyperparameters and {record.metric}"
    if constant:
        title += f"<br><sup>the same in every trial: {', '.join(constant)}</sup>"
    fig.update_layout(title=title, **{**LAYOUT, "margin": {"l": 60, "r": 60, "t": 100, "b": 30}})
    return fig


def _log_axis(name: str, values: pd.Series) -> dict[str, object]:
    """An axis of log10(values) labelled in the values themselves, at the powers of ten inside their range."""
    logs = np.log10(values.to_numpy(dtype=float))
    low, high = float(logs.min()), float(logs.max())
    ticks = [float(d) for d in range(int(np.ceil(low)), int(np.floor(high)) + 1)]
    if len(ticks) < 2:
        ticks = sorted({low, *ticks, high})
    return {"label": f"{name} (log)", "values": logs, "range": [low, high], "tickvals": ticks,
            "ticktext": [f"{10 ** t:.3g}" for t in ticks]}


def _categorical_axis(name: str, values: pd.Series) -> dict[str, object]:
    """One tick per choice, numbers in numeric order before the others."""
    choices = sorted(set(values.tolist()), key=lambda v: (isinstance(v, bool) or not isinstance(v, (int, float)),
                                                          v if isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          else str(v)))
    codes = {str(choice): i for i, choice in enumerate(choices)}
    return {"label": name, "values": values.astype(str).map(codes), "tickvals": list(range(len(choices))),
            "ticktext": [short(c) for c in choices], "range": [0, max(len(choices) - 1, 1)]}


def short(value: object) -> str:
    """A value as the report writes it: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def hyperparameter_importance(record: JobRecord, method: str = "ped-anova") -> go.Figure | None:
    """Per family, the share of score variation each hyperparameter explains (Optuna's evaluators)."""
    fig = go.Figure()
    for family in record.trials.estimator.unique():
        importance = param_importance(record.trials, family, record.maximize, method, record.scales(family) or None)
        if importance:
            fig.add_bar(x=list(importance.values()), y=list(importance), orientation="h", name=family)
    if not fig.data:
        return None
    name = "fANOVA" if method == "fanova" else "PED-ANOVA"
    fig.update_layout(title=f"Hyperparameter importance ({name}, Optuna)", xaxis_title="importance", barmode="group",
                      **{**LAYOUT, "height": max(300, 24 * sum(len(bar.y) for bar in fig.data) + 120)})
    fig.update_yaxes(autorange="reversed")
    return fig


def intermediate_curves(record: JobRecord) -> go.Figure | None:
    """The intermediate losses early stopping saw, per trial (pruned trials stand out)."""
    if not record.intermediate:
        return None
    status = record.trials.set_index("trial_id").status.to_dict()
    fig = go.Figure()
    shown: set[str] = set()
    for trial_id, reports in sorted(record.intermediate.items()):
        if not reports:
            continue
        state = status.get(trial_id, "ok")
        steps, values = zip(*reports)
        fig.add_scatter(x=steps, y=values, mode="lines+markers", name=state, legendgroup=state,
                        showlegend=state not in shown, line={"color": STATUS_COLOURS.get(state, "gray"), "width": 1},
                        opacity=0.6, hovertemplate=f"trial {trial_id}<br>step %{{x}}: %{{y:.5g}}")
        shown.add(state)
    steps = [s for reports in record.intermediate.values() for s, _ in reports]
    log_x = bool(steps) and max(steps) >= 16  # boosting rounds 4, 8, 16, ...
    fig.update_layout(title="Intermediate results (lower is better)", xaxis_title="step (fold or boosting round)",
                      yaxis_title="loss", xaxis_type="log" if log_x else "linear", **LAYOUT)
    _focus(fig, pd.Series([v for reports in record.intermediate.values() for _, v in reports]), maximize=False)
    return fig


def feature_importance_chart(record: JobRecord) -> go.Figure | None:
    if not record.feature_importance:
        return None
    names, values = list(record.feature_importance), list(record.feature_importance.values())
    fig = go.Figure(go.Bar(x=values, y=names, orientation="h", marker_color="#59a14f"))
    fig.update_layout(title="Feature importance of the best model (normalised)", **{**LAYOUT, "height": max(300, 22 * len(names) + 100)})
    fig.update_yaxes(autorange="reversed")
    return fig


def budget_split(record: JobRecord) -> go.Figure | None:
    """Where the wall-clock time went: trials, the search loop around them, refit, the rest (setup, logging)."""
    split = record.time_split
    if "search_s" not in split:
        return None
    total = float(split.get("total_s") or split.get("elapsed_s") or 0.0)
    trial_time = float(record.trials.duration_s.sum())
    concurrent = max(1, int(float(record.job.get("n_concurrent_trials") or 1)))
    in_trials = min(float(split["search_s"]), trial_time / concurrent)
    parts = {
        "trials": in_trials,
        "search loop (asking, recording, workers)": max(0.0, float(split["search_s"]) - in_trials),
        "final refit": float(split.get("refit_s", 0.0)),
        "setup, logging and the rest": max(0.0, total - float(split["search_s"]) - float(split.get("refit_s", 0.0))),
    }
    budget = record.job.get("time_budget")
    if budget not in (None, "None") and float(budget) > total:  # type: ignore[arg-type]
        parts["unused budget"] = float(budget) - total  # type: ignore[arg-type]
    fig = go.Figure()
    for name, seconds in parts.items():
        fig.add_bar(x=[seconds], y=["time"], orientation="h", name=f"{name}: {seconds:.1f}s")
    fig.update_layout(title=f"Where the time went ({total:.1f}s in all)", barmode="stack", xaxis_title="seconds",
                      **{**LAYOUT, "height": 260})
    return fig


def duration_by_family(record: JobRecord) -> go.Figure | None:
    trials = record.trials
    if trials.empty:
        return None
    fig = go.Figure()
    for status, rows in trials.groupby("status", sort=False):
        fig.add_bar(x=rows.groupby("estimator").duration_s.sum().index, y=rows.groupby("estimator").duration_s.sum().values,
                    name=status, marker_color=STATUS_COLOURS.get(status, "gray"))
    fig.update_layout(title="Trial time by family and outcome", yaxis_title="seconds", barmode="stack", **LAYOUT)
    return fig



def forecast_charts(record: JobRecord) -> list[go.Figure]:
    """Per series: history, the best model's backtest forecasts and the final forecast with its interval."""
    if not record.task_report or record.task_report.get("kind") != "forecast":
        return []
    figures = []
    for entry in record.task_report["series"]:
        fig = go.Figure()
        fig.add_trace(go.Scatter(x=entry["history_t"], y=entry["history_y"], name="history", mode="lines",
                                 line={"color": "#444"}))
        if "backtest_t" in entry and len(entry["backtest_t"]):
            fig.add_trace(go.Scatter(x=entry["backtest_t"], y=entry["backtest_y"], name="backtest forecasts",
                                     mode="lines+markers", line={"dash": "dot", "color": "#1f77b4"}))
        if "future_t" in entry:
            fig.add_trace(go.Scatter(x=entry["future_t"], y=entry["upper"], name="90% interval", mode="lines",
                                     line={"width": 0}, showlegend=False))
            fig.add_trace(go.Scatter(x=entry["future_t"], y=entry["lower"], name="90% interval", mode="lines",
                                     line={"width": 0}, fill="tonexty", fillcolor="rgba(214,39,40,0.2)"))
            fig.add_trace(go.Scatter(x=entry["future_t"], y=entry["mean"], name="forecast", mode="lines",
                                     line={"color": "#d62728"}))
        fig.update_layout(title=f"{entry['name']}", height=320, margin={"t": 40, "b": 30})
        figures.append(fig)
    return figures


def per_query_chart(record: JobRecord) -> go.Figure | None:
    """Ranking: the distribution of the best trial's metric over its validation queries."""
    report = record.task_report
    if not report or report.get("kind") != "rank" or not len(report["values"]):
        return None
    values = np.asarray(report["values"], dtype=float)
    fig = go.Figure(go.Histogram(x=values, nbinsx=min(40, max(5, len(values) // 3)), marker={"color": "#1f77b4"}))
    fig.update_layout(title=f"{report['metric']} per validation query ({len(values)} queries, mean {values.mean():.4g})",
                      xaxis_title=report["metric"], yaxis_title="queries", height=320, margin={"t": 40, "b": 40})
    return fig


def pareto_charts(record: JobRecord) -> list[go.Figure]:
    """A multi-objective job: score against each measured objective, the Pareto front drawn as a line."""
    objectives = [o for o in str(record.job.get("objectives") or "").split(",")[1:] if o in record.trials.columns]
    ok = record.trials[record.trials.status == "ok"].dropna(subset=["score", *objectives])
    if not objectives or ok.empty:
        return []
    sign = -1.0 if record.maximize else 1.0  # every objective minimised: the loss, then the measurements
    values = np.column_stack([sign * ok.score.to_numpy(float), *(ok[o].to_numpy(float) for o in objectives)])
    front = ok[nondominated(values)]
    figures = []
    for objective in objectives:
        fig = go.Figure()
        fig.add_scatter(x=ok[objective], y=ok.score, mode="markers", name="ok trials", text=ok.estimator,
                        marker={"color": "#bab0ac"}, hovertemplate="trial %{customdata}: %{text}<extra></extra>",
                        customdata=ok.trial_id)
        line = front.sort_values(objective)
        fig.add_scatter(x=line[objective], y=line.score, mode="lines+markers", name="Pareto front", text=line.estimator,
                        marker={"color": STATUS_COLOURS["ok"], "size": 9}, customdata=line.trial_id,
                        hovertemplate="trial %{customdata}: %{text}<extra></extra>")
        fig.update_layout(title=f"Score against {objective} ({len(front)} trials on the front)", xaxis_title=objective,
                          yaxis_title=record.metric, xaxis_type="log" if (ok[objective] > 0).all() else "linear",
                          **LAYOUT)
        figures.append(fig)
    return figures
