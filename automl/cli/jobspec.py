"""The tuning-job file: a validated model whose field names are a public contract."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from automl.cli.job_errors import field_error
from automl.errors import InputError


class JobSpec(BaseModel):
    """Fields of ``job.yaml``; the same names exist as ``automl tune`` flags."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    data: Path
    target: str
    task: str = "classification"
    group_column: str | None = None  # ranking: the column of query ids (svmlight files: qid)
    metric: str | None = None
    time_budget: float | None = Field(60.0, gt=0)
    strategy: str = "auto"
    early_stop: str | None = "auto"
    estimators: list[str] | Literal["auto"] = "auto"
    seed: int = 0
    tracking_uri: str | None = None
    experiment: str | None = None
    output: Path = Path("model.pkl")
    max_trials: int | None = Field(None, ge=1)
    eval_method: Literal["auto", "holdout", "cv"] = "auto"
    n_splits: int = Field(5, ge=2)
    n_jobs: int = -1
    tracking: bool = True
    test_data: Path | None = None
    test_size: float | None = Field(None, gt=0, lt=1)
    search_space: dict[str, Any] | None = None
    register_as: str | None = Field(None, alias="register")  # "register" would shadow BaseModel.register
    backend: str = "inprocess"
    n_concurrent_trials: int = Field(1, ge=1)
    resources_per_trial: dict[str, float] | None = None
    ray_address: str | None = None
    trial_retries: int = Field(0, ge=0)
    trial_timeout: float | None = Field(None, gt=0)  # seconds one trial may take
    memory_limit_mb: int | None = Field(None, ge=64)  # trials in a child process with this much data memory
    resume_from: str | None = None  # an earlier run of this job: its finished trials are replayed
    ensemble: bool | str = "auto"  # "auto", true, false or "stack": ship an ensemble of the trials (checked by check_job)
    constraints: dict[str, float] | None = None  # predict_ms_per_row, model_mb, batch_rows (checked by check_job)
    device: str = "cpu"  # cpu or cuda: where in-process trials train (checked by check_job)
    objectives: list[str] | None = None  # [score, predict_ms_per_row and/or model_mb]: a multi-objective search
    warm_start: bool | Path = False  # true: the shipped portfolio's starting configurations; or a portfolio file
    # forecasting (task: forecast)
    time_column: str | None = None
    horizon: int | None = Field(None, ge=1)
    series_id_column: list[str] | None = None
    season: int | None = Field(None, ge=1)
    known_covariates: list[str] | None = None

    @field_validator("series_id_column", "known_covariates", "objectives", mode="before")
    @classmethod
    def _split_columns(cls, value: Any) -> Any:
        """One column name, or several (a list, or comma-separated on the command line)."""
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def fit_options(self) -> dict[str, Any]:
        """The task options ``AutoML.fit`` takes (forecasting's columns, horizon and season)."""
        return {"time_column": self.time_column, "horizon": self.horizon, "series_id_column": self.series_id_column,
                "season": self.season, "known_covariates": self.known_covariates}

    @field_validator("ensemble", "warm_start", mode="before")
    @classmethod
    def _parse_flag_bool(cls, value: Any) -> Any:
        """The flag form of true and false (ensemble: or auto, stack; warm_start: or a portfolio file's path)."""
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        return value

    @field_validator("estimators", mode="before")
    @classmethod
    def _split_estimators(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "auto":
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("resources_per_trial", mode="before")
    @classmethod
    def _parse_resources(cls, value: Any) -> Any:
        """The flag form ``cpu=1,gpu=0.5``."""
        if not isinstance(value, str):
            return value
        resources: dict[str, Any] = {}
        for item in filter(None, (v.strip() for v in value.split(","))):
            key, sep, amount = item.partition("=")
            if not sep:
                raise ValueError(f"expected key=value pairs such as cpu=1,gpu=0.5, got {item!r}")
            resources[key.strip()] = amount.strip()
        return resources

    def resolve_paths(self, base: Path) -> "JobSpec":
        """Paths in a job file are relative to the file's folder."""
        updates = {}
        for name in PATH_FIELDS:
            value = getattr(self, name)
            if isinstance(value, Path) and not value.is_absolute():
                updates[name] = (base / value).resolve()
        return self.model_copy(update=updates)


#: Fields that are paths (relative to the job file's folder when given in it).
PATH_FIELDS = ("data", "test_data", "output", "warm_start")


def load_job(path: Path | None, overrides: dict[str, Any]) -> JobSpec:
    """Read ``path`` (if any), apply the flags in ``overrides`` and validate, before any work starts."""
    fields: dict[str, Any] = {}
    base = Path.cwd()
    source = "the command-line flags"
    if path is not None:
        source = str(path)
        if not path.is_file():
            raise InputError(f"job file {str(path)!r} does not exist; pass the path of a YAML job file.")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"job file {str(path)!r} is not valid YAML ({exc}); fix its syntax.") from exc
        if not isinstance(loaded, dict):
            raise InputError(f"job file {str(path)!r} must hold a mapping of fields such as data, target, task.")
        fields, base = loaded, path.resolve().parent
    flagged = {k for k, v in overrides.items() if v is not None}
    given = {k: overrides[k] for k in flagged}
    for key in flagged:  # a flag that sets one entry of a mapping field (--max-model-mb) keeps the file's others
        if isinstance(given[key], dict) and isinstance(fields.get(key), dict):
            given[key] = {**fields[key], **given[key]}
    spec_from_file = _validate(fields | given, source, flagged)
    if path is None:
        return spec_from_file
    flagged_paths = flagged
    resolved = spec_from_file.resolve_paths(base)
    # Paths given as flags are relative to the working directory, not the job file.
    return resolved.model_copy(update={k: getattr(spec_from_file, k) for k in PATH_FIELDS if k in flagged_paths})


def _validate(fields: dict[str, Any], source: str, flagged: set[str]) -> JobSpec:
    try:
        return JobSpec.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = str(error["loc"][0]) if error["loc"] else "job"
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(f.alias or name for name, f in JobSpec.model_fields.items())
            raise InputError(f"{source}: unknown field {where!r}; allowed fields: {allowed}.") from None
        if error["type"] == "missing":
            raise InputError(f"{source}: field {where!r} is required; add it (e.g. {where}: ...).") from None
        raise InputError(field_error(error, fields, JobSpec.model_fields, source, where in flagged)) from None
