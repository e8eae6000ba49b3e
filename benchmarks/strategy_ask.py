"""What one ask costs each strategy as trials accumulate, on a trivial objective (the loop overhead's quadratic).

    python -m benchmarks.strategy_ask --trials 500 --at 50 200 500 --out benchmarks/results/strategy_ask.json

For each strategy, one family with four parameters (two floats, a log int, a categorical); every trial is
told at once. Recorded: the median milliseconds of the asks around trial 50, 200, 500 (the 10 asks up to
that trial), and the total seconds. The Gaussian process of ``bo`` is refitted at each ask.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from automl.space import JointSpace, parse_space
from automl.strategies import STRATEGIES
from automl.study import OK, Study, TrialResult
from benchmarks.loop_overhead import SPACE, loss

WINDOW = 10


def ask_times(name: str, trials: int) -> list[float]:
    """Seconds of each ask of strategy ``name`` over ``trials`` trials."""
    space = JointSpace({"quad": parse_space(SPACE, "bench", "quad").for_task("classification", {})})
    strategy = STRATEGIES.get(name)(space, 0, ["quad"])
    study = Study(0)
    times = []
    for _ in range(trials):
        started = time.perf_counter()
        suggestion = strategy.ask()
        times.append(time.perf_counter() - started)
        if suggestion is None:
            break
        trial = study.start(suggestion)
        value = loss(**trial.config)
        study.finish(trial, TrialResult(OK, value, value))
        strategy.tell(suggestion, trial)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--at", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument("--strategies", nargs="+", default=["random", "tpe", "bo"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/strategy_ask.json"))
    args = parser.parse_args()
    rows = {}
    for name in args.strategies:
        times = ask_times(name, args.trials)
        rows[name] = {"total_s": round(sum(times), 2),
                      **{f"ms_per_ask_at_{n}": round(1000 * statistics.median(times[max(0, n - WINDOW):n]), 2)
                         for n in args.at if n <= len(times)}}
        print(name, rows[name], flush=True)
    record = {
        "command": f"python -m benchmarks.strategy_ask --trials {args.trials} --at {' '.join(map(str, args.at))} "
                   f"--strategies {' '.join(args.strategies)} --out {args.out}",
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"), "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
