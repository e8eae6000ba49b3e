#!/usr/bin/env bash
# Installs AutoGluon (autogluon.tabular 1.6.x) into its own virtualenv for benchmarks/tabular_suite.py.
#
#   bash benchmarks/install_autogluon.sh [VENV]     # default: .venv-autogluon in the repository root
#
# AutoGluon pins pandas < 2.4 (and pyarrow < 25), so it never goes into the project's environment: the
# suite runs benchmarks/autogluon_runner.py with this venv's python in a subprocess.
#
# Torch (AutoGluon's NN_TORCH and FASTAI models): only a CPU build is installed, never a CUDA one from
# the default index (several GB). pip is first asked, without downloading, which torch==$TORCH_VERSION
# wheel it would take; it is installed only if that wheel is a CPU build (a local "+cpu" wheel, or one
# from TORCH_INDEX_URL, e.g. PyTorch's CPU index). Otherwise, or if AutoGluon's pin refuses it, AutoGluon
# is installed without its torch-based models. The last line says which model types it can train;
# tabular_suite.py records the same in its results.
#
# Environment: PYTHON (the interpreter to build the venv from, default python3), TORCH_VERSION
# (default 2.13.0), TORCH_INDEX_URL (optional), AUTOGLUON_VERSION (default 1.6.*).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-autogluon}"
PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
AUTOGLUON_VERSION="${AUTOGLUON_VERSION:-1.6.*}"
TORCH_INDEX_ARGS=()
[[ -n "${TORCH_INDEX_URL:-}" ]] && TORCH_INDEX_ARGS=(--index-url "$TORCH_INDEX_URL")

"$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip)
"${PIP[@]}" install --quiet --upgrade pip wheel

# Which torch wheel would pip take? (--dry-run --report: metadata only, nothing large is downloaded.)
REPORT="$(mktemp)"
trap 'rm -f "$REPORT" "${CONSTRAINTS:-}"' EXIT
TORCH_OK=0
if "${PIP[@]}" install --quiet --dry-run --no-deps --ignore-installed --report "$REPORT" \
        "${TORCH_INDEX_ARGS[@]}" "torch==$TORCH_VERSION" 2>/dev/null; then
    URL="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["install"][0]["download_info"]["url"])' "$REPORT")"
    if [[ "$URL" == *cpu* ]]; then
        TORCH_OK=1
    else
        echo "torch==$TORCH_VERSION would come from $URL (not a CPU build): installing without torch" >&2
    fi
else
    echo "no torch==$TORCH_VERSION wheel found: installing without torch" >&2
fi

EXTRAS="lightgbm,catboost,xgboost"
if [[ "$TORCH_OK" == 1 ]]; then
    "${PIP[@]}" install --quiet "${TORCH_INDEX_ARGS[@]}" "torch==$TORCH_VERSION"
    INSTALLED="$("$VENV/bin/python" -c 'import torch; print(torch.__version__)')"
    # Holds the CPU build in place: a resolver that wanted another torch fails instead of fetching CUDA.
    CONSTRAINTS="$(mktemp)"
    echo "torch==$INSTALLED" > "$CONSTRAINTS"
    if "${PIP[@]}" install --quiet -c "$CONSTRAINTS" "autogluon.tabular[$EXTRAS,fastai]==$AUTOGLUON_VERSION"; then
        EXTRAS="$EXTRAS,fastai"
    else
        echo "AutoGluon refused torch $INSTALLED: installing without its torch-based models" >&2
        "${PIP[@]}" uninstall --quiet --yes torch
    fi
fi
if [[ "$EXTRAS" != *fastai* ]]; then
    "${PIP[@]}" install --quiet "autogluon.tabular[$EXTRAS]==$AUTOGLUON_VERSION"
fi

"$VENV/bin/python" - <<'EOF'
import importlib.util
import autogluon.tabular
mods = {"GBM": "lightgbm", "CAT": "catboost", "XGB": "xgboost", "NN_TORCH": "torch", "FASTAI": "fastai"}
can = ["RF", "XT", "KNN"] + [k for k, m in mods.items() if importlib.util.find_spec(m)]
torch = importlib.util.find_spec("torch")
print(f"autogluon.tabular {autogluon.tabular.__version__}; model types: {' '.join(can)}; "
      f"torch: {__import__('torch').__version__ if torch else 'none'}")
EOF
