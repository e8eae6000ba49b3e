"""Hyperparameter importance per estimator family, by Optuna's evaluators over the recorded trials."""

from __future__ import annotations

import logging
import math

import optuna
import pandas as pd

from automl.optuna_logs import quiet_optuna

logger = logging.getLogger(__name__)
MIN_TRIALS = 6


@quiet_optuna()
def param_importance(trials: pd.DataFrame, family: str, maximize: bool, method: str = "ped-anova",
                     scales: dict[str, str] | None = None) -> dict[str, float]:
    """Importance of ``family``'s parameters for its ok trials' scores; empty when there are too few trials.

    ``method`` is "ped-anova" (Optuna's PED-ANOVA: fast, for the artifact written
    at the end of every job) or "fanova" (Optuna's fANOVA: a random forest over the
    trials, slower). ``scales`` are the space's declared "log" and "categorical" parameters (the others linear);
    without them the distributions are inferred from the observed values.
    """
    rows = trials[(trials.estimator == family) & (trials.status == "ok")].dropna(subset=["score"])
    params = [c for c in rows.columns if c.startswith("param.") and rows[c].notna().all() and rows[c].nunique() > 1]
    if len(rows) < MIN_TRIALS or not params:
        return {}
    distributions = {c[len("param."):]: _distribution(rows[c], None if scales is None else scales.get(c[len("param."):],
                                                                                                  "linear"))
                     for c in params}
    study = optuna.create_study(direction="maximize" if maximize else "minimize")
    for _, row in rows.iterrows():
        values = {name: _value(row[f"param.{name}"], dist) for name, dist in distributions.items()}
        study.add_trial(optuna.trial.create_trial(params=values, distributions=distributions, value=float(row.score)))
    evaluator = (optuna.importance.FanovaImportanceEvaluator(seed=0) if method == "fanova"
                 else optuna.importance.PedAnovaImportanceEvaluator())
    try:
        return {k: float(v) for k, v in optuna.importance.get_param_importances(study, evaluator=evaluator).items()}
    except (RuntimeError, ValueError) as exc:  # e.g. every trial in one bin
        logger.debug("no %s importance for %s: %s", method, family, exc)
        return {}


def _distribution(values: pd.Series, scale: str | None = None) -> optuna.distributions.BaseDistribution:
    """The parameter's distribution: its declared ``scale`` ("log", "categorical", "linear"), else inferred."""
    if scale == "categorical" or values.map(lambda v: isinstance(v, (bool, str))).any():
        return optuna.distributions.CategoricalDistribution(sorted(values.astype(str).unique()))
    low, high = float(values.min()), float(values.max())
    log = low > 0 and (scale == "log" if scale is not None else high / low > 100)
    if values.map(lambda v: float(v).is_integer()).all():
        return optuna.distributions.IntDistribution(int(low), int(high), log=log)
    return optuna.distributions.FloatDistribution(low, high, log=log)


def _value(value: object, distribution: optuna.distributions.BaseDistribution) -> object:
    if isinstance(distribution, optuna.distributions.CategoricalDistribution):
        return str(value)
    if isinstance(distribution, optuna.distributions.IntDistribution):
        return int(value)  # type: ignore[arg-type]
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else distribution.low  # type: ignore[attr-defined]
