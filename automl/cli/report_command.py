"""``automl report``: a job's self-contained HTML report, from its MLflow parent run or its model file."""

from __future__ import annotations

from pathlib import Path

from automl.atomic import replacing
from automl.errors import InputError


def run_report(source: str, out: Path, tracking_uri: str | None, importance: str, trust_model: bool = False) -> Path:
    """Write the report of ``source`` (a parent run id, or a model file from ``automl tune``) to ``out``."""
    import automl
    from automl_dashboards import record_from_automl, render_report

    if importance not in ("ped-anova", "fanova"):
        raise InputError(f"--importance {importance!r} is unknown; use ped-anova or fanova.")
    if not out.parent.exists():
        raise InputError(f"output folder {str(out.parent)!r} does not exist; create it or choose another --out path.")
    if Path(source).is_file():
        from automl.persistence import load_model

        fitted = load_model(source, trust=trust_model)
        if not hasattr(fitted, "study_"):
            raise InputError(f"model file {source!r} holds no tuning job; pass a file written by `automl tune`.")
        record = record_from_automl(fitted)
    else:
        from automl.tracking.mlflow_reader import read_job

        record = read_job(source, tracking_uri)
    page = render_report(record, importance=importance, version=automl.__version__)
    with replacing(out) as temporary:  # an existing report is kept until the new one is complete
        temporary.write_text(page, encoding="utf-8")
    return out
