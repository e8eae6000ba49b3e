"""The layers of the ``mlp`` family's network and its learning-rate schedules (imported only where torch is used).

A network reads its inputs (the numbers, and each embedded categorical column's learned vector looked up by its
code), then a stack of blocks, one per hidden layer: linear, then normalisation (none, batch or layer), the
activation (relu, gelu or silu) and dropout, with an optional residual connection around the block (through a
linear projection where the block changes the width); a linear layer gives the outputs.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU}
NORMALISATIONS = ("none", "batch", "layer")
SCHEDULES = ("constant", "cosine", "one_cycle")


class Inputs(nn.Module):
    """The numeric columns as they are, and the last ``len(cardinalities)`` columns (codes 0..k) as embeddings of
    ``min(embed_dim, k)`` dimensions each, concatenated."""

    def __init__(self, n_inputs: int, cardinalities: Sequence[int], embed_dim: int) -> None:
        super().__init__()
        self.n_numeric = n_inputs - len(cardinalities)
        self.embeddings = nn.ModuleList(nn.Embedding(int(k), max(1, min(int(embed_dim), int(k) - 1)))
                                        for k in cardinalities)
        self.width = self.n_numeric + sum(e.embedding_dim for e in self.embeddings)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not len(self.embeddings):
            return x
        codes = x[:, self.n_numeric:].long()
        looked_up = [embedding(codes[:, i]) for i, embedding in enumerate(self.embeddings)]
        return torch.cat([x[:, :self.n_numeric], *looked_up], dim=1)


class Block(nn.Module):
    """One hidden layer: linear, normalisation, activation, dropout; plus its input when ``residual``."""

    def __init__(self, n_in: int, n_out: int, activation: str, normalization: str, dropout: float, residual: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.norm = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}.get(normalization, lambda n: nn.Identity())(n_out)
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.skip = None if not residual else (nn.Identity() if n_in == n_out else nn.Linear(n_in, n_out, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.dropout(self.activation(self.norm(self.linear(x))))
        return out if self.skip is None else out + self.skip(x)


def build_network(n_inputs: int, n_outputs: int, widths: Sequence[int], dropouts: Sequence[float], activation: str,
                  normalization: str, residual: bool, cardinalities: Sequence[int] = (), embed_dim: int = 8) -> nn.Sequential:
    """The inputs (embedding the last ``len(cardinalities)`` columns), the blocks of ``widths`` (one dropout rate
    each) and the output layer."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation={activation!r} is unknown; use one of {sorted(ACTIVATIONS)}.")
    if normalization not in NORMALISATIONS:
        raise ValueError(f"normalization={normalization!r} is unknown; use one of {list(NORMALISATIONS)}.")
    inputs = Inputs(n_inputs, cardinalities, embed_dim)
    layers: list[nn.Module] = [inputs]
    width = inputs.width
    for out, rate in zip(widths, dropouts):
        layers.append(Block(width, int(out), activation, normalization, float(rate), residual))
        width = int(out)
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)


def make_schedule(optimiser: torch.optim.Optimizer, schedule: str, learning_rate: float, total_steps: int) -> Any:
    """The learning-rate scheduler stepped after every batch (None for a constant rate)."""
    if schedule == "constant":
        return None
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, total_steps))
    if schedule == "one_cycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate, total_steps=max(1, total_steps))
    raise ValueError(f"schedule={schedule!r} is unknown; use one of {list(SCHEDULES)}.")
