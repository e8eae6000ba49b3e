"""``automl export``: a model file written by ``automl tune`` as an ONNX file, checked on rows of a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.errors import InputError
from automl.io import read_table
from automl.persistence import load_model

FORMATS = ("onnx",)


def run_export(model_ref: str, data: Path, fmt: str, out: Path, trust_model: bool = False) -> Any:
    """Write ``out`` (only once onnxruntime agrees with the model on ``data``'s rows); returns the ``OnnxExport``."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt!r} is not an export format; pass one of: {', '.join(FORMATS)}.")
    if not out.parent.is_dir():
        raise InputError(f"--out {str(out)!r} is in folder {str(out.parent)!r}, which does not exist; create it first.")
    for flag, path in (("--data", data), ("MODEL", Path(model_ref))):
        if out.exists() and path.exists() and out.samefile(path):
            raise InputError(f"--out {str(out)!r} is the {flag} file; choose another path so that file is kept.")
    model = load_model(model_ref, trust=trust_model)
    if not hasattr(model, "to_onnx"):
        raise InputError(f"{model_ref!r} is not a model file written by `automl tune` (an MLflow model cannot be "
                         "exported here); pass the --output file of `automl tune`.")
    return model.to_onnx(out, read_table(data, "data"))
