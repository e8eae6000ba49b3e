"""MLflow tracking at scale: 1,000 trials of a trivial objective into a fresh SQLite store, then the UI on it.

    python -m benchmarks.tracking_scale --trials 1000 --out benchmarks/results/tracking_scale.json

Figures:

- tracking time per trial: (wall time until every trial run is in the store,
  tracking on) minus (the same random-search loop with tracking off), over the
  trials; the writes happen in the writer process, so the loop itself waits
  little (also recorded, as ``loop_ms_per_trial``);
- the store's own cost per nested run once the writer is up (``store_write_ms_per_trial``:
  the writer's work without its start-up, MLflow's import and the new store's schema),
  and the same through MlflowClient's calls instead of one transaction
  (``store_write_ms_per_trial_through_client``, the writer before that change);
- ``automl report`` rebuilt from the store for those 1,000 trials;
- the MLflow UI's time to open the job's parent run: the REST calls its run page
  makes (get the run, list its child runs) timed over HTTP, and, where Debian's
  Chromium is installed, a headless browser's time from navigation until the
  run's name and its ``best_score`` are on the page.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.loop_overhead import run_automl
from automl.tracking import NullTracker
from automl.tracking.mlflow_tracker import MlflowTracker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tracking(trials: int, store: str) -> tuple[dict[str, Any], str]:
    """Random search: its ask costs microseconds, so the store's write rate is what shows (TPE's ask grows with trials)."""
    untracked_loop, _ = run_automl(trials, "random", NullTracker())
    tracker = MlflowTracker(store, "tracking-scale")
    loop, all_written = run_automl(trials, "random", tracker)
    figures = {
        "untracked_loop_ms_per_trial": round(1000 * untracked_loop / trials, 3),
        "loop_ms_per_trial": round(1000 * loop / trials, 3),
        "until_all_written_ms_per_trial": round(1000 * all_written / trials, 3),
        "tracking_ms_per_trial": round(1000 * (all_written - untracked_loop) / trials, 3),
    }
    return figures, str(tracker.run_id)


def store_write_ms(trials: int, fast_trial_runs: bool) -> float:
    """Per trial, what the writer process spends on one nested run once it is up (MlflowRecorder in this process).

    ``fast_trial_runs`` False writes each run through MlflowClient (create, log_batch, terminate) instead of one transaction.
    """
    from automl.study import Trial
    from automl.tracking.mlflow_records import MlflowRecorder

    recorder = MlflowRecorder(f"sqlite:///{tempfile.mkdtemp()}/writes.db", "store-writes", fast_trial_runs=fast_trial_runs)
    recorder.open({"benchmark": "store_writes"}, {"automl.job_name": "store-writes"})
    batch = [Trial(i, "quad", {"x": 0.1 * i, "y": 1.0, "n": 10, "kind": "a"}, 0, status="ok", score=0.5, loss=0.5,
                   duration_s=0.01, started_at=time.time(), intermediate=[(1, 0.6), (2, 0.5)]) for i in range(trials)]
    started = time.perf_counter()
    for trial in batch:
        recorder.write_trial(trial, "random")
    return round(1000 * (time.perf_counter() - started) / trials, 3)


def report_seconds(run_id: str, store: str) -> float:
    from automl.cli.report_command import run_report

    started = time.perf_counter()
    run_report(run_id, Path(tempfile.mkdtemp()) / "report.html", store, "ped-anova")
    return round(time.perf_counter() - started, 3)


def ui_figures(run_id: str, store: str) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store, "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        started = time.perf_counter()
        run = json.load(urllib.request.urlopen(f"{base}/ajax-api/2.0/mlflow/runs/get?run_id={run_id}"))["run"]
        get_s = time.perf_counter() - started
        body = json.dumps({"experiment_ids": [run["info"]["experiment_id"]], "max_results": 1000,
                           "filter": f"tags.mlflow.parentRunId = '{run_id}'"}).encode()
        request = urllib.request.Request(f"{base}/ajax-api/2.0/mlflow/runs/search", data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        children = json.load(urllib.request.urlopen(request)).get("runs", [])
        search_s = time.perf_counter() - started
        figures: dict[str, Any] = {"rest_get_parent_run_s": round(get_s, 3),
                                   "rest_search_child_runs_s": round(search_s, 3), "child_runs_listed": len(children)}
        figures["browser_open_parent_run_s"] = browser_seconds(f"{base}/#/experiments/{run['info']['experiment_id']}/runs/{run_id}")
        return figures
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def browser_seconds(url: str) -> float | None:
    if not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get("about:blank")
        started = time.perf_counter()
        driver.get(url)
        ready = "return document.body.innerText.includes('Child runs') && document.body.innerText.includes('trial-0')"
        while not driver.execute_script(ready):
            if time.perf_counter() - started > 120:
                Path("tracking_scale_ui.txt").write_text(driver.execute_script("return document.body.innerText"))
                return None
            time.sleep(0.05)
        return round(time.perf_counter() - started, 3)
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    store = f"sqlite:///{tempfile.mkdtemp()}/scale.db"
    figures, run_id = tracking(args.trials, store)
    figures["store_write_ms_per_trial"] = store_write_ms(args.trials, fast_trial_runs=True)
    figures["store_write_ms_per_trial_through_client"] = store_write_ms(args.trials, fast_trial_runs=False)
    print(figures, flush=True)
    record = {
        "command": " ".join([os.path.basename(sys.executable), "-m", "benchmarks.tracking_scale", *sys.argv[1:]]),
        "machine": {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(), "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"), "trials": args.trials, "tracking": figures,
        "automl_report_from_mlflow_s": report_seconds(run_id, store), "ui": ui_figures(run_id, store),
    }
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
