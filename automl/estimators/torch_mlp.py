"""A multilayer perceptron in PyTorch with scikit-learn's estimator interface.

Trains with AdamW on dense float features (the adapter standardises and
one-hot encodes them first), on the CPU or a CUDA device, one epoch at a time
so a caller can score it between epochs and stop it. The fitted network is
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


class TorchMLP(BaseEstimator):
    """Fully connected ReLU network: ``n_layers`` hidden layers of ``hidden_units``, dropout, AdamW."""

    def __init__(
        self,
        task: str = "classification",
        hidden_units: int = 128,
        n_layers: int = 2,
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 128,
        epochs: int = 32,
        n_jobs: int = 1,
        device: str = "cpu",
        random_state: int = 0,
    ) -> None:
        self.task = task
        self.hidden_units = hidden_units
        self.n_layers = n_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.n_jobs = n_jobs
        self.device = device
        self.random_state = random_state

    def fit(self, X: Any, y: Any, deadline: float | None = None, on_epoch: EpochCallback | None = None) -> "TorchMLP":
        """Train for ``epochs``; stop early at ``deadline`` (monotonic seconds) or when ``on_epoch`` says so."""
        import torch

        self.completed_ = True
        features = np.asarray(X, dtype=np.float32)
        target = self._encode_target(np.asarray(y))
        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, int(self.n_jobs)))
        device = torch.device(self.device if self.device == "cpu" or torch.cuda.is_available() else "cpu")
        try:
            with _seeded_rng(torch, device, self.random_state):  # the caller's torch RNG is as it was afterwards
                self.network_ = self._network(features.shape[1]).to(device)
                self.trained_on_ = str(device)
                optimiser = torch.optim.AdamW(self.network_.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
                loss_fn = torch.nn.CrossEntropyLoss() if self.task == "classification" else torch.nn.MSELoss()
                inputs = torch.from_numpy(features).to(device)
                targets = torch.from_numpy(target).to(device)
                order = torch.Generator().manual_seed(self.random_state)
                batch = max(1, min(int(self.batch_size), len(features)))
                for epoch in range(1, int(self.epochs) + 1):
                    self.network_.train()
                    for rows in torch.randperm(len(features), generator=order).split(batch):
                        rows = rows.to(device)
                        optimiser.zero_grad(set_to_none=True)
                        loss_fn(self.network_(inputs[rows]), targets[rows]).backward()
                        optimiser.step()
                    if deadline is not None and time.monotonic() > deadline:
                        self.completed_ = epoch == self.epochs
                        break
                    if on_epoch is not None and epoch < self.epochs and on_epoch(epoch, self):
                        self.completed_ = False
                        break
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

    def _network(self, n_inputs: int) -> Any:
        from torch import nn

        layers: list[Any] = []
        width = n_inputs
        for _ in range(int(self.n_layers)):
            layers += [nn.Linear(width, int(self.hidden_units)), nn.ReLU(), nn.Dropout(float(self.dropout))]
            width = int(self.hidden_units)
        outputs = len(self.classes_) if self.task == "classification" else 1
        layers.append(nn.Linear(width, outputs))
        return nn.Sequential(*layers)


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
