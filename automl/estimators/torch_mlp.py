"""A multilayer perceptron in PyTorch with scikit-learn's estimator interface.

Trains with AdamW (and a learning-rate schedule) on dense float features (the
adapter standardises the numbers and one-hot encodes the categories first, or
turns them into codes whose embeddings the network learns), on the CPU or a CUDA
device, one epoch at a time so a caller can score it between epochs and stop it;
the layers are ``automl.estimators.mlp_network``'s. The fitted network is
kept on the CPU: a saved model predicts anywhere. Imports torch only when
used, so the rest of automl works without it.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np
from sklearn.base import BaseEstimator

#: Called after an epoch with (epochs done, the model); True stops training.
EpochCallback = Callable[[int, "TorchMLP"], bool]


#: Hidden layers a network may have: the architecture space's ``width_k`` / ``dropout_k`` for k = 1..MAX_LAYERS.
MAX_LAYERS = 6
#: Rows held out of training to choose the best epoch (when that leaves at least MIN_HOLDOUT_ROWS of them).
VALIDATION_FRACTION, MIN_HOLDOUT_ROWS = 0.1, 20


class TorchMLP(BaseEstimator):
    """Fully connected network of ``n_layers`` blocks, AdamW with a learning-rate schedule, best epoch restored.

    Layer ``k`` is ``width_k`` units wide with dropout ``dropout_k`` (``hidden_units`` / ``dropout`` where not
    given: the fixed-shape space). Each epoch is scored on a tenth of the training rows held out; training stops
    ``patience`` epochs after the best one (default: a fifth of ``epochs``, at least 8) and ends with the best
    epoch's weights (``best_epoch_``; each epoch's held-out loss in ``validation_losses_``).
    """

    def __init__(
        self,
        task: str = "classification",
        hidden_units: int = 128,
        n_layers: int = 2,
        dropout: float = 0.1,
        width_1: int | None = None, width_2: int | None = None, width_3: int | None = None,
        width_4: int | None = None, width_5: int | None = None, width_6: int | None = None,
        dropout_1: float | None = None, dropout_2: float | None = None, dropout_3: float | None = None,
        dropout_4: float | None = None, dropout_5: float | None = None, dropout_6: float | None = None,
        activation: str = "relu",
        normalization: str = "none",
        residual: bool = False,
        schedule: str = "constant",
        embed_dim: int = 8,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        epochs: int = 32,
        patience: int | None = None,
        n_jobs: int = 1,
        device: str = "cpu",
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.hidden_units = hidden_units
        self.n_layers = n_layers
        self.dropout = dropout
        self.width_1, self.width_2, self.width_3 = width_1, width_2, width_3
        self.width_4, self.width_5, self.width_6 = width_4, width_5, width_6
        self.dropout_1, self.dropout_2, self.dropout_3 = dropout_1, dropout_2, dropout_3
        self.dropout_4, self.dropout_5, self.dropout_6 = dropout_4, dropout_5, dropout_6
        self.activation = activation
        self.normalization = normalization
        self.residual = residual
        self.schedule = schedule
        self.embed_dim = embed_dim
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state

    def layer_widths(self) -> list[int]:
        return layer_widths(self.get_params())

    def layer_dropouts(self) -> list[float]:
        return [float(self.dropout if getattr(self, f"dropout_{k}") is None else getattr(self, f"dropout_{k}"))
                for k in range(1, int(self.n_layers) + 1)]

    def fit(self, X: Any, y: Any, deadline: float | None = None, on_epoch: EpochCallback | None = None,
            cardinalities: tuple[int, ...] = ()) -> "TorchMLP":
        """Train for ``epochs``; stop early at ``deadline`` (monotonic seconds), when ``on_epoch`` says so, or
        ``patience`` epochs after the best on the held-out rows; keep the best epoch's weights. The last
        ``len(cardinalities)`` columns of ``X`` are category codes (0..k-1 for a table of k), each embedded in
        ``embed_dim`` dimensions (fewer for a column of fewer categories)."""
        import torch

        from automl.estimators.mlp_network import build_network, make_schedule

        self.completed_ = True
        features = np.asarray(X, dtype=np.float32)
        target = self._encode_target(np.asarray(y))
        if int(self.n_layers) > MAX_LAYERS:
            raise ValueError(f"n_layers={self.n_layers} is more than {MAX_LAYERS}; pass 1 to {MAX_LAYERS}.")
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, int(self.n_jobs)))
        device = torch.device(self.device if self.device == "cpu" or torch.cuda.is_available() else "cpu")
        try:
            with _seeded_rng(torch, device, self.random_state):  # the caller's torch RNG is as it was afterwards
                outputs = len(self.classes_) if self.task == "classification" else 1
                self.network_ = build_network(features.shape[1], outputs, self.layer_widths(), self.layer_dropouts(),
                                              self.activation, self.normalization, bool(self.residual),
                                              cardinalities, int(self.embed_dim)).to(device)
                self.trained_on_ = str(device)
                order = torch.Generator().manual_seed(self.random_state)
                train, held = _holdout(len(features), order)
                inputs, targets = torch.from_numpy(features).to(device), torch.from_numpy(target).to(device)
                held_out = None if held is None else (inputs[held.to(device)], targets[held.to(device)])
                batch = max(1, min(int(self.batch_size), len(train)))
                optimiser = torch.optim.AdamW(self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
                scheduler = make_schedule(optimiser, self.schedule, self.learning_rate,
                                          int(self.epochs) * -(-len(train) // batch))
                loss_fn = torch.nn.CrossEntropyLoss() if self.task == "classification" else torch.nn.MSELoss()
                patience = max(8, int(self.epochs) // 5) if self.patience is None else int(self.patience)
                best: tuple[float, int, dict[str, Any] | None, float] = (float("inf"), 0, None, float("inf"))
                epoch, self.validation_losses_ = 0, []
                for epoch in range(1, int(self.epochs) + 1):
                    self.network_.train()
                    for rows in train[torch.randperm(len(train), generator=order)].split(batch):
                        if len(rows) < 2 and self.normalization == "batch":  # batch norm needs two rows
                            continue
                        rows = rows.to(device)
                        optimiser.zero_grad(set_to_none=True)
                        loss_fn(self.network_(inputs[rows]), targets[rows]).backward()
                        optimiser.step()
                        if scheduler is not None:
                            scheduler.step()
                    if held_out is not None:
                        best = _keep_best(best, epoch, self.network_, loss_fn, *held_out)
                        self.validation_losses_.append(best[3])
                        if epoch - best[1] >= patience:
                            break
                    if deadline is not None and time.monotonic() > deadline:
                        self.completed_ = epoch == self.epochs
                        break
                    if on_epoch is not None and epoch < self.epochs and on_epoch(epoch, self):
                        self.completed_ = False
                        break
                if best[2] is not None:
                    self.network_.load_state_dict(best[2])
                self.best_epoch_ = best[1] if best[2] is not None else epoch
        finally:
            torch.set_num_threads(threads)
        self.network_ = self.network_.to("cpu").eval()
        return self

    def predict(self, X: Any) -> np.ndarray:
        output = self._forward(X)
        if self.task == "classification":
            return self.classes_[output.argmax(axis=1)]
        return output[:, 0] * self.target_scale_ + self.target_mean_

    def predict_proba(self, X: Any) -> np.ndarray:
        output = self._forward(X)
        output = np.exp(output - output.max(axis=1, keepdims=True))
        return output / output.sum(axis=1, keepdims=True)

    def _forward(self, X: Any) -> np.ndarray:
        import torch

        network = self.network_
        device = next(network.parameters()).device
        with torch.no_grad():
            inputs = torch.from_numpy(np.asarray(X, dtype=np.float32)).to(device)
            return network.eval()(inputs).cpu().numpy().astype(np.float64)

    def _encode_target(self, y: np.ndarray) -> np.ndarray:
        if self.task == "classification":
            self.classes_ = np.unique(y)
            return np.searchsorted(self.classes_, y).astype(np.int64)
        values = y.astype(np.float64)
        self.target_mean_ = float(values.mean())
        self.target_scale_ = float(values.std()) or 1.0  # regression targets are standardised for training
        return ((values - self.target_mean_) / self.target_scale_).astype(np.float32).reshape(-1, 1)


def layer_widths(params: dict[str, Any]) -> list[int]:
    """The hidden layers' widths of a configuration: ``width_k`` where given, else ``hidden_units``."""
    default = params.get("hidden_units", 128)
    return [int(default if params.get(f"width_{k}") is None else params[f"width_{k}"])
            for k in range(1, int(params.get("n_layers", 2)) + 1)]


def _holdout(n_rows: int, generator: Any) -> tuple[Any, Any]:
    """Training rows and the rows held out to choose the best epoch (None when too few rows to spare them)."""
    import torch

    shuffled = torch.randperm(n_rows, generator=generator)
    n_held = int(n_rows * VALIDATION_FRACTION)
    if n_held < MIN_HOLDOUT_ROWS:
        return shuffled, None
    return shuffled[n_held:], shuffled[:n_held]


def _keep_best(best: tuple[float, int, Any, float], epoch: int, network: Any, loss_fn: Any, inputs: Any,
               targets: Any) -> tuple[float, int, Any, float]:
    """``best`` (loss, epoch, weights), replaced by this epoch's when its held-out loss is lower; last, this epoch's
    held-out loss."""
    import torch

    network.eval()
    with torch.no_grad():
        loss = float(loss_fn(network(inputs), targets))
    if loss < best[0]:
        return loss, epoch, {k: v.detach().clone() for k, v in network.state_dict().items()}, loss
    return best[0], best[1], best[2], loss


@contextmanager
def _seeded_rng(torch: Any, device: Any, seed: int) -> Iterator[None]:
    """Torch's default generators of the CPU (weights) and of the CUDA device trained on (dropout there) seeded for
    the block, and put back as they were after it."""
    cuda = [torch.cuda.current_device() if device.index is None else device.index] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.random.default_generator.manual_seed(seed)
        for index in cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield
