"""The manifest written next to a model file, checked before the file is unpickled.

``model.pkl.manifest.json`` records the format, the automl version and the SHA-256 of the pickle's bytes (and,
when ``AUTOML_MODEL_KEY`` is set, an HMAC of them with that key). What it proves: a matching hash, that the
pickle is the one written together with that manifest (not a foreign, swapped or damaged file); a matching
HMAC, that it was written by someone holding the key. A hash proves nothing about who wrote the pair: anyone
who can write both files can write a matching manifest. Only the HMAC does that, and only while the key is secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
from pathlib import Path
from typing import Any

from automl import __version__
from automl.errors import InputError

FORMAT = "automl-model"
SUFFIX = ".manifest.json"
KEY_VARIABLE = "AUTOML_MODEL_KEY"
TRUST_HINT = "pass --trust-model (load_model(path, trust=True) in Python) if the file comes from a source you trust"


def manifest_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + SUFFIX)


def make_manifest(data: bytes, model: Any) -> dict[str, Any]:
    """The manifest of pickle bytes ``data`` holding ``model``."""
    manifest = {"format": FORMAT, "automl_version": __version__, "python": platform.python_version(),
                "model": type(model).__name__, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    key = os.environ.get(KEY_VARIABLE)
    if key:
        manifest["hmac_sha256"] = _hmac(key, data)
    return manifest


def compatible(version: str) -> bool:
    """Models load within one major.minor version of automl (a patch release keeps the pickled classes)."""
    return str(version).split(".")[:2] == __version__.split(".")[:2]


def check_manifest(model_path: Path, data: bytes) -> None:
    """Refuse pickle bytes ``data`` of ``model_path`` unless its manifest vouches for them (see the module docstring)."""
    where, path = manifest_path(model_path), str(model_path)
    if not where.is_file():
        raise InputError(f"model file {path!r} has no manifest {where.name!r} next to it, so nothing shows it is a model "
                         f"that automl wrote, and unpickling a file can run any code; re-run `automl tune` to write both, or {TRUST_HINT}.")
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
        recorded, digest = str(manifest["automl_version"]), str(manifest["sha256"])
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise InputError(f"manifest {str(where)!r} of model file {path!r} is not an automl model manifest ({exc}); "
                         f"re-run `automl tune` to write both files, or {TRUST_HINT}.") from None
    if not compatible(recorded):
        raise InputError(f"model file {path!r} was written by automl {recorded}, which automl {__version__} does not load "
                         f"(models load within one major.minor version); re-run `automl tune` with this version, or "
                         f"install automl {recorded} to use the model.")
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual, digest):
        raise InputError(f"model file {path!r} does not match its manifest (sha256 {actual[:12]}..., the manifest records "
                         f"{digest[:12]}...), so it was changed or replaced after automl wrote it; re-run `automl tune`, or {TRUST_HINT}.")
    _check_signature(path, data, manifest.get("hmac_sha256"))


def _check_signature(path: str, data: bytes, signature: Any) -> None:
    key = os.environ.get(KEY_VARIABLE)
    if not key:
        return
    if not isinstance(signature, str):
        raise InputError(f"model file {path!r} is not signed, and {KEY_VARIABLE} is set, so only models signed with that key "
                         f"load; re-run `automl tune` with {KEY_VARIABLE} set, or unset it to load unsigned models.")
    if not hmac.compare_digest(_hmac(key, data), signature):
        raise InputError(f"model file {path!r} was not signed with the key in {KEY_VARIABLE} (another key, or the file "
                         f"changed after signing); re-run `automl tune` with this key, or set the key it was written with.")


def _hmac(key: str, data: bytes) -> str:
    return hmac.new(key.encode("utf-8"), data, hashlib.sha256).hexdigest()
