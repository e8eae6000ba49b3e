"""Neural-network family "mlp": a PyTorch multilayer perceptron (needs ``pip install "automl[torch]"``).

Not part of ``estimators="auto"``: on tabular data within a budget, boosted
trees usually win and a network's epochs cost more; name it to search it
(``estimators=["lgbm", "mlp"]``). Epochs 4, 8, 16, ... are its intermediate
results for early stopping, as boosting rounds are for LightGBM; a trial given
a GPU trains on it.
"""

from __future__ import annotations

import importlib.util
import math
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from automl.cost import FitShape
from automl.estimators.base import BuildContext, EstimatorAdapter
from automl.estimators.mlp_features import DEFAULT_EMBED_ABOVE, MLPFeatures
from automl.estimators.torch_mlp import TorchMLP, layer_widths
from automl.monitor import RoundMonitor, is_report_round


class MLPAdapter(EstimatorAdapter):
    name = "mlp"
    rounds_param = "epochs"
    libraries = ("torch",)
    cost_rank = 7
    in_auto = False
    cost_coefficients = {"fit": 0.00992, "batches": 0.000523, "work": 1.76e-10}  # benchmarks/results/cost_model.json

    @classmethod
    def missing_dependency(cls) -> str | None:
        if importlib.util.find_spec("torch") is None:
            return 'PyTorch is not installed; install it with pip install "automl[torch]" (torch==2.13.0)'
        return None

    def cost_terms(self, config: dict[str, Any], shape: FitShape) -> dict[str, float]:
        """Epochs x (batches, and rows x weights of the network)."""
        sizes = [shape.features, *layer_widths(config), max(shape.n_classes, 1)]
        weights = sum(a * b for a, b in zip(sizes, sizes[1:]))
        epochs = config["epochs"]
        return {
            "fit": 1.0,
            "batches": epochs * math.ceil(shape.rows / max(config["batch_size"], 1)),
            "work": epochs * shape.rows * weights,
        }

    def build(self, config: dict[str, Any], context: BuildContext) -> Any:
        network_config = {k: v for k, v in config.items() if k != "embed_above"}
        network = TorchMLP(
            task=context.task, **network_config, n_jobs=context.n_jobs, device=context.device, random_state=context.seed
        )
        features = MLPFeatures(int(config.get("embed_above", DEFAULT_EMBED_ABOVE)))
        return Pipeline([("features", features), ("mlp", network)])

    def trained_on(self, model: Any) -> str | None:
        return str(model.named_steps["mlp"].trained_on_)

    def fit(self, model: Any, X: pd.DataFrame, y: Any, deadline: float | None = None, monitor: RoundMonitor | None = None,
            extras: Any = None) -> bool:
        features, network = model.named_steps["features"], model.named_steps["mlp"]
        matrix = features.fit_transform(X)
        on_epoch = None
        if monitor is not None and monitor.active:
            X_val = features.transform(monitor.X_val)

            def on_epoch(epochs: int, fitted: TorchMLP) -> bool:
                if not is_report_round(epochs):
                    return False
                return monitor.report(epochs, _validation_output(fitted, X_val, monitor.n_classes))

        network.fit(matrix, y, deadline, on_epoch, tuple(features.cardinalities_))
        return bool(network.completed_)


def _validation_output(network: TorchMLP, X_val: Any, n_classes: int) -> Any:
    """Probabilities over every class (a training fold may lack some), or regression values."""
    if network.task != "classification":
        return network.predict(X_val)
    from automl.objective import align_proba

    return align_proba(network.predict_proba(X_val), network, n_classes)
