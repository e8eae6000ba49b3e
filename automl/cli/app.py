"""``automl tune | resume | submit | predict | export | report | ui | jobs | sync | spaces``: commands over the public Python API."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from rich.console import Console

from automl.cli.errors import one_line_errors
from automl.cli.errors import stderr as stderr_console
from automl.cli.jobspec import JobSpec, load_job
from automl.tracking.chatter import environment
from automl.tracking.writer_process import writer_started_early

app = typer.Typer(add_completion=False, no_args_is_help=True, help="AutoML hyperparameter tuning with MLflow tracking.")
spaces_app = typer.Typer(no_args_is_help=True, help="List and show the estimator families' search spaces.")
app.add_typer(spaces_app, name="spaces")
stdout = Console(highlight=False)


def _show_version(value: bool) -> None:
    if value:
        from automl import __version__

        stdout.print(f"automl {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                          help="Show automl's version and exit.")) -> None:
    """AutoML hyperparameter tuning with MLflow tracking."""


@contextlib.contextmanager
def third_party_logs(verbose: bool) -> Iterator[None]:
    """MLflow's own messages to ./automl.log for the command (its path said once), or on stderr with --verbose."""
    from automl.tracking.chatter import third_party_logs_to

    path = _log_file(verbose)
    size = path.stat().st_size if path is not None and path.exists() else 0
    try:
        with third_party_logs_to(path):
            yield
    finally:
        if path is not None and path.exists() and path.stat().st_size > size:
            stderr_console.print(f"MLflow's own messages: {path}", soft_wrap=True, markup=False)


def _log_file(verbose: bool) -> Path | None:
    return None if verbose else Path("automl.log").resolve()


TRUST_HELP = ("Load a model file without its manifest check (a pickle runs code when loaded: only for files from a "
              "source you trust).")


@app.command()
def tune(
    job: Optional[Path] = typer.Argument(None, help="YAML job file; flags override its fields."),
    data: Optional[Path] = typer.Option(None, "--data", help="Training data (CSV, Parquet or svmlight)."),
    target: Optional[str] = typer.Option(None, "--target", help="Target column."),
    task: Optional[str] = typer.Option(None, "--task", help="classification, binary, multiclass, regression, forecast or rank."),
    group_column: Optional[str] = typer.Option(None, "--group-column", help="Ranking: the column of query ids (svmlight: qid)."),
    metric: Optional[str] = typer.Option(None, "--metric", help="Metric name, e.g. roc_auc, log_loss, r2."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Seconds for the whole job."),
    strategy: Optional[str] = typer.Option(None, "--strategy", help="auto, tpe, bo, random, grid, cfo or blendsearch."),
    early_stop: Optional[str] = typer.Option(None, "--early-stop", help="Stop weak trials early: auto (asha), asha, hyperband, median or none."),
    estimators: Optional[str] = typer.Option(None, "--estimators", help="Comma-separated families, or auto."),
    seed: Optional[int] = typer.Option(None, "--seed"),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="MLflow experiment name."),
    output: Optional[Path] = typer.Option(None, "--output", help="Where the fitted model is written."),
    max_trials: Optional[int] = typer.Option(None, "--max-trials"),
    eval_method: Optional[str] = typer.Option(None, "--eval-method", help="auto, holdout or cv."),
    test_data: Optional[Path] = typer.Option(None, "--test-data", help="Held-out data to report a test score on."),
    test_size: Optional[float] = typer.Option(None, "--test-size", help="Share of data held out for a test score."),
    tracking: Optional[bool] = typer.Option(None, "--tracking/--no-tracking", help="Record the job in MLflow."),
    register: Optional[str] = typer.Option(None, "--register", help="Register the best model under this name."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Where trials run: inprocess or ray."),
    n_concurrent_trials: Optional[int] = typer.Option(None, "--n-concurrent-trials", help="Trials at once (ray)."),
    resources_per_trial: Optional[str] = typer.Option(None, "--resources-per-trial", help="Per Ray trial, e.g. cpu=1,gpu=0.5."),
    ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join this Ray cluster (or auto); default: start a local one."),
    trial_retries: Optional[int] = typer.Option(None, "--trial-retries", help="Reruns of a trial whose Ray worker died."),
    trial_timeout: Optional[float] = typer.Option(None, "--trial-timeout", help="Seconds one trial may take (in-process)."),
    memory_limit_mb: Optional[int] = typer.Option(None, "--memory-limit-mb", help="Trials in a child process with this much memory."),
    resume_from: Optional[str] = typer.Option(None, "--resume-from", help="Run id of an earlier run of this job to continue."),
    time_column: Optional[str] = typer.Option(None, "--time-column", help="Forecasting: the column of timestamps."),
    horizon: Optional[int] = typer.Option(None, "--horizon", help="Forecasting: future steps to forecast."),
    series_id_column: Optional[str] = typer.Option(None, "--series-id-column", help="Forecasting: column(s) naming each series of a panel."),
    season: Optional[int] = typer.Option(None, "--season", help="Forecasting: seasonal period in steps (default: from the frequency)."),
    known_covariates: Optional[str] = typer.Option(None, "--known-covariates", help="Forecasting: comma-separated columns known in the future."),
    ensemble: Optional[str] = typer.Option(None, "--ensemble", help="auto (when it beats the best trial), true, false or stack (a linear model on the trials' predictions)."),
    max_predict_ms_per_row: Optional[float] = typer.Option(None, "--max-predict-ms-per-row", help="Constraint: milliseconds per row to predict a batch of 1000 rows."),
    max_model_mb: Optional[float] = typer.Option(None, "--max-model-mb", help="Constraint: megabytes of the pickled model."),
    objectives: Optional[str] = typer.Option(None, "--objectives", help="A multi-objective search, e.g. score,predict_ms_per_row (or model_mb)."),
    device: Optional[str] = typer.Option(None, "--device", help="Where in-process trials train: cpu or cuda (an error where no GPU is visible)."),
    warm_start: Optional[str] = typer.Option(None, "--warm-start", help="Start each family from the shipped portfolio's configurations for data of this shape: true, false (default), or a portfolio file."),
    quiet: bool = typer.Option(False, "--quiet", help="No live progress display."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the job and the data, show what would run; fit nothing."),
    verbose: bool = typer.Option(False, "--verbose", help="Show MLflow's own messages on stderr (else: ./automl.log)."),
) -> None:
    """Run a tuning job: search, refit the best model, write it, record everything in MLflow."""
    overrides: dict[str, Any] = {
        "data": data, "target": target, "task": task, "group_column": group_column, "metric": metric, "time_budget": time_budget,
        "strategy": strategy, "early_stop": early_stop, "estimators": estimators, "seed": seed, "tracking_uri": tracking_uri,
        "experiment": experiment, "output": output, "max_trials": max_trials, "eval_method": eval_method,
        "test_data": test_data, "test_size": test_size, "tracking": tracking, "register": register,
        "backend": backend, "n_concurrent_trials": n_concurrent_trials, "resources_per_trial": resources_per_trial,
        "ray_address": ray_address, "trial_retries": trial_retries, "trial_timeout": trial_timeout,
        "memory_limit_mb": memory_limit_mb, "resume_from": resume_from,
        "time_column": time_column, "horizon": horizon, "series_id_column": series_id_column, "season": season,
        "known_covariates": known_covariates, "ensemble": ensemble,
        "device": device, "objectives": objectives, "warm_start": warm_start,
        "constraints": {k: v for k, v in (("predict_ms_per_row", max_predict_ms_per_row), ("model_mb", max_model_mb))
                        if v is not None} or None,
    }
    with one_line_errors():
        spec = load_job(job, overrides)
        with _writer_started_early(spec, verbose, dry_run):
            _check_job(spec)  # a bad job fails before MLflow is imported
            with third_party_logs(verbose):
                _run_tune(spec, quiet=quiet, job_file=job, dry_run=dry_run)


def _writer_started_early(spec: JobSpec, verbose: bool, dry_run: bool = False) -> contextlib.AbstractContextManager[Any]:
    """The job's MLflow writer process, started before this process imports MLflow and the job's libraries and
    reads the data, so that both processes' imports overlap on two cores where they took turns (2-3 s of a short
    job); it follows the command's :func:`third_party_logs`."""
    return writer_started_early(enabled=spec.tracking and not dry_run, environment=environment(_log_file(verbose)))


def _check_job(spec: JobSpec) -> None:
    from automl.cli.tune_command import check_job

    check_job(spec)


def _run_tune(spec: JobSpec, quiet: bool, job_file: Path | None, dry_run: bool = False) -> None:
    from automl.cli.tune_command import run_tune

    run_tune(spec, stdout, quiet=quiet, job_file=job_file, dry_run=dry_run)


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="The MLflow run id of the job to continue (printed by `automl tune`)."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow store of the run (default: MLFLOW_TRACKING_URI or ./mlflow.db)."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Seconds for this run of the job."),
    max_trials: Optional[int] = typer.Option(None, "--max-trials", help="Trials in all, the earlier ones included."),
    quiet: bool = typer.Option(False, "--quiet", help="No live progress display."),
) -> None:
    """Continue a stopped, dead or finished job from its job file: its finished trials are replayed, not refitted."""
    from automl.cli.resume_command import prepare_resume

    with one_line_errors(), third_party_logs(False):
        job, previous = prepare_resume(run_id, tracking_uri)
        if previous:
            stdout.print(f"{previous} Resuming it.", soft_wrap=True, markup=False)
        overrides = {"resume_from": run_id, "tracking_uri": tracking_uri, "time_budget": time_budget, "max_trials": max_trials}
        spec = load_job(job, overrides)
        with _writer_started_early(spec, verbose=False):
            _check_job(spec)
            _run_tune(spec, quiet=quiet, job_file=job)


@app.command()
def submit(
    job: Path = typer.Argument(..., help="YAML job file; its folder is uploaded to the cluster with it."),
    address: str = typer.Option(..., "--address", envvar="RAY_JOB_ADDRESS", help="Ray job server, e.g. http://127.0.0.1:8265."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Seconds for the whole job."),
    max_trials: Optional[int] = typer.Option(None, "--max-trials"),
    strategy: Optional[str] = typer.Option(None, "--strategy"),
    early_stop: Optional[str] = typer.Option(None, "--early-stop"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow store the cluster writes to."),
    experiment: Optional[str] = typer.Option(None, "--experiment"),
    n_concurrent_trials: Optional[int] = typer.Option(None, "--n-concurrent-trials"),
    resources_per_trial: Optional[str] = typer.Option(None, "--resources-per-trial", help="e.g. cpu=1,gpu=0.5."),
    trial_retries: Optional[int] = typer.Option(None, "--trial-retries"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Stream the job's output until it ends."),
) -> None:
    """Submit a tuning job to a Ray cluster (job-submission API), stream its progress, leave its trials in MLflow."""
    from automl.cli.submit_command import run_submit
    from automl.cli.tune_command import check_job

    flags: dict[str, Any] = {
        "time_budget": time_budget, "max_trials": max_trials, "strategy": strategy, "early_stop": early_stop,
        "seed": seed, "tracking_uri": tracking_uri, "experiment": experiment,
        "n_concurrent_trials": n_concurrent_trials, "resources_per_trial": resources_per_trial,
        "trial_retries": trial_retries,
    }
    with one_line_errors():
        spec = load_job(job, flags)
        check_job(spec.model_copy(update={"backend": "ray"}) if "backend" not in spec.model_fields_set else spec)
        code = run_submit(job, spec, {k: v for k, v in flags.items() if v is not None}, address, wait, stdout)
    raise typer.Exit(code)


@app.command()
def predict(
    model: str = typer.Option(..., "--model", help="Model file written by `automl tune`, or an MLflow URI (runs:/, models:/)."),
    data: Path = typer.Option(..., "--data", help="Rows to predict (CSV or Parquet)."),
    out: Path = typer.Option(..., "--out", help="Where predictions are written (CSV or Parquet)."),
    proba: bool = typer.Option(False, "--proba", help="Also write class probabilities (model files only)."),
    interval: Optional[float] = typer.Option(None, "--interval", help="Forecasts: also write lower/upper bounds at this coverage, e.g. 0.9."),
    trust_model: bool = typer.Option(False, "--trust-model", help=TRUST_HELP),
) -> None:
    """Write predictions of a fitted model for a table of rows (forecasts with their timestamps and series ids)."""
    from automl.cli.predict_command import run_predict

    with one_line_errors():
        written = run_predict(model, data, out, proba, interval, trust_model)
        stdout.print(f"Wrote {written} predictions to {out}")


@app.command()
def export(
    model: str = typer.Argument(..., help="Model file written by `automl tune`."),
    data: Path = typer.Option(..., "--data", help="Rows to check the exported model on (CSV or Parquet), e.g. the training data."),
    out: Path = typer.Option(..., "--out", help="Where the exported model is written, e.g. model.onnx."),
    format: str = typer.Option("onnx", "--format", help="Export format: onnx."),  # noqa: A002 - the flag's name
    trust_model: bool = typer.Option(False, "--trust-model", help=TRUST_HELP),
) -> None:
    """Export the best model (LightGBM, XGBoost, forests, linear models, with the feature transform) to ONNX."""
    from automl.cli.export_command import run_export

    with one_line_errors():
        stdout.print(run_export(model, data, format, out, trust_model).summary())


@app.command()
def report(
    source: str = typer.Argument(..., help="A job's MLflow parent run id, or a model file written by `automl tune`."),
    out: Path = typer.Option(Path("report.html"), "--out", help="Where the HTML report is written."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow store of the run (default: MLFLOW_TRACKING_URI or ./mlflow.db)."),
    importance: str = typer.Option("fanova", "--importance", help="Hyperparameter importance: fanova or ped-anova (faster)."),
    trust_model: bool = typer.Option(False, "--trust-model", help=TRUST_HELP),
) -> None:
    """Write a job's self-contained HTML report (charts work offline)."""
    from automl.cli.report_command import run_report

    with one_line_errors():
        written = run_report(source, out, tracking_uri, importance, trust_model)
        stdout.print(f"Wrote the report to {written}")


@app.command()
def ui(
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI or ./mlflow.db)."),
    experiment: str = typer.Option("automl", "--experiment", help="Experiment whose latest job is shown."),
    run_id: Optional[str] = typer.Option(None, "--run-id", help="A job's parent run id (default: the latest job)."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(5000, "--port"),
) -> None:
    """Start the MLflow UI on the job's tracking store and print the URL of the job's parent run."""
    from automl.cli.ui_command import run_ui

    with one_line_errors():
        run_ui(tracking_uri, experiment, run_id, host, port, stdout)


@app.command()
def jobs(
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="MLflow store (default: MLFLOW_TRACKING_URI or ./mlflow.db)."),
    experiment: Optional[str] = typer.Option(None, "--experiment", help="Only this experiment's jobs (default: every experiment)."),
    limit: int = typer.Option(50, "--limit", min=1, help="Show the latest N jobs."),
) -> None:
    """List the store's jobs, newest first; a RUNNING job whose heartbeat stopped is dead and is ended as KILLED."""
    from automl.cli.jobs_command import run_jobs

    with one_line_errors():
        run_jobs(tracking_uri, experiment, limit, stdout)


@app.command()
def sync(
    journals: Optional[list[Path]] = typer.Argument(None, help="Journal files (default: every one in ./automl-journal "
                                                               "or $AUTOML_JOURNAL_DIR)."),
    tracking_uri: Optional[str] = typer.Option(None, "--tracking-uri", help="Write to this store instead of the "
                                                                            "job's own (it moved)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show MLflow's own messages on stderr."),
) -> None:
    """Write what a job could not record in MLflow (its store was away) from the job's journal; then remove it."""
    from automl.cli.sync_command import run_sync

    with one_line_errors(), third_party_logs(verbose):
        run_sync(journals or [], tracking_uri, stdout)


@spaces_app.command("list")
def spaces_list() -> None:
    """List the estimator families and their search spaces."""
    from automl.cli.spaces_command import list_spaces

    with one_line_errors():
        list_spaces(stdout)


@spaces_app.command("show")
def spaces_show(family: str = typer.Argument(..., help="Family name, e.g. lgbm.")) -> None:
    """Show one family's parameters: type, bounds, default, low-cost point."""
    from automl.cli.spaces_command import show_space

    with one_line_errors():
        show_space(family, stdout)


def main() -> None:
    """Console-script entry point."""
    app()
