"""bo against tpe (and random) where trials cost seconds: the tabular suite's sets with the fewest trials.

    python -m benchmarks.strategy_suite --budget 30 --seeds 0 1 2 --out benchmarks/results/strategy_suite_30s.json

On scikit-learn's bundled sets (benchmarks/mlp_architecture.py) a trial takes tenths of a second, and TPE's cheaper
asks buy more trials than the GP's model is worth. Here the sets are six of the tabular suite's with the fewest
trials in its 30 s runs (results/tabular_suite_30s.json, two per task: 32 to 60 trials where the others ran up to
203; for binary, hmda's 60 stand where fair_affairs' 52 were fewer, a slip in the picking kept so that the recorded
runs stay those of the default), each fit in a process of its own on the suite's 75/25 split (benchmarks/tabular_fit.py's ``automl_<strategy>``: the default families,
``strategy=<strategy>``, single models, tracking into a SQLite store as a user gets it), same budget, seed and
split for every arm. Recorded per fit: test score (roc_auc, log_loss, r2, by automl's metric functions), trials,
wall time. The summary gives per set the mean test score and trials of each arm and whether the first arm's mean is
better, equal or worse than each other arm's, and the per-seed wins, ties and losses of the first arm against each
other one (a tie: within 0.5% of each other, benchmarks/tabular_report.py's rule).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.tabular_data import DATASETS
from benchmarks.tabular_fit import SINGLE_MODEL_STRATEGIES
from benchmarks.tabular_report import GREATER, compare
from benchmarks.tabular_suite import new_record, run_fits

#: Two sets per task among the fewest trials in the suite's 30 s runs (32-60 trials; see the docstring for hmda).
COSTLY_SETS = ("credit_data", "hmda", "hpc_jobs", "wvs_poverty", "ames_housing", "computers")
ARMS = SINGLE_MODEL_STRATEGIES


def summarize(rows: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    """Per set each arm's mean test score and trials; per seed the first arm's wins/ties/losses against the others."""
    frame = pd.DataFrame(rows)
    first, others = arms[0], arms[1:]
    per_seed = {f"{first} vs {o}": {"win": 0, "tie": 0, "loss": 0} for o in others}
    per_set: list[dict[str, Any]] = []
    for name, group in frame.groupby("dataset", sort=False):
        greater = GREATER[group.metric.iloc[0]]
        entry: dict[str, Any] = {"dataset": name, "metric": group.metric.iloc[0]}
        for arm in arms:
            mine = group[group.tool == f"automl_{arm}"]
            entry[arm] = round(float(mine.test_score.mean()), 5) if mine.test_score.notna().any() else None
            entry[f"{arm}_trials"] = round(float(mine.trials.mean()), 1) if mine.trials.notna().any() else None
        for other in others:  # the first arm's mean against the other's: "better", "equal" or "worse"
            a, b = entry[first], entry[other]
            entry[f"{first}_mean_vs_{other}"] = (None if a is None or b is None else "equal" if a == b
                                                 else "better" if (a > b) == greater else "worse")
        for _, run in group.groupby("seed"):
            scores = {arm: run.loc[run.tool == f"automl_{arm}", "test_score"].dropna() for arm in arms}
            for other in others:
                a, b = (None if scores[x].empty else float(scores[x].iloc[0]) for x in (first, other))
                per_seed[f"{first} vs {other}"][compare(a, b, greater)] += 1
        per_set.append(entry)
    return {"per_dataset": per_set, "per_seed": per_seed,
            "mean_trials": {arm: round(float(frame.loc[frame.tool == f"automl_{arm}", "trials"].mean()), 1) for arm in arms},
            "worst_wall_over_budget": {arm: float(frame.loc[frame.tool == f"automl_{arm}", "wall_over_budget"].max())
                                       for arm in arms}}


def resummarize(path: Path) -> None:
    """Rewrites the summary of a results file from its rows (``--resummarize FILE``), saying so in the file."""
    record = json.loads(path.read_text())
    arms = [tool.removeprefix("automl_") for tool in record["tools"]]
    record["summary"] = summarize(record["rows"], arms)
    record["summary_rewritten_by"] = f"python -m benchmarks.strategy_suite --resummarize {path}"
    path.write_text(json.dumps(record, indent=2, default=str))
    print(json.dumps(record["summary"], indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(COSTLY_SETS), choices=list(DATASETS))
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS)
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/strategy_suite_<budget>s.json")
    parser.add_argument("--resummarize", type=Path, default=None, help="rewrite this results file's summary, run nothing")
    args = parser.parse_args()
    if args.resummarize is not None:
        return resummarize(args.resummarize)
    args.tools = [f"automl_{arm}" for arm in args.arms]  # new_record's field
    warnings.filterwarnings("ignore")
    out_path = args.out or Path(f"benchmarks/results/strategy_suite_{args.budget:g}s.json")
    record = new_record("benchmarks.strategy_suite", args)
    run_fits(record, [DATASETS[name] for name in args.datasets], args, out_path,
             lambda rows: summarize(rows, args.arms), constant_rows=False)
    print(json.dumps(record["summary"], indent=2))


if __name__ == "__main__":
    main()
