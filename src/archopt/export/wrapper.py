"""``RawInputModel``: a trained model wrapped so that it takes and returns the user's raw values.

What an exported artifact computes, per task:
  classification  inputs (B, *shape) raw -> probabilities (B, classes)
  regression      inputs (B, *shape) raw -> values (B, targets), in the targets' units
  reconstruction  inputs (B, *shape) raw -> reconstruction (B, *shape), in the inputs' units
  generation      latent (B, latent) -> samples (B, *shape), in the inputs' units
Variable-length sequences take ``lengths`` (B,) int64 beside zero-padded inputs (B, T, F).
The input normalization fitted on the training split is two buffers inside; a regression
model's target scale is already inside the model (``archopt.models.build.attach_target_scale``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archopt.data.dataset import DataShape

OUTPUT_NAMES = {"classification": "probabilities", "regression": "values",
                "reconstruction": "reconstruction", "generation": "samples"}


def model_task(model: nn.Module, shape: DataShape) -> str:
    """classification | regression | reconstruction | generation."""
    return getattr(model, "task", shape.task)


def _stat(values: Any, shape: DataShape) -> torch.Tensor:
    """Per-channel (image) or per-feature statistics shaped to broadcast over a batch."""
    t = torch.tensor(values, dtype=torch.float32)
    if shape.kind == "image":
        return t.view(1, -1, 1, 1)  # (1, C, 1, 1)
    if shape.kind == "sequence":
        return t.view(1, 1, -1)  # (1, 1, F)
    return t.view(1, -1)  # (1, F)


class RawInputModel(nn.Module):
    """The model with the run's normalization around it, in eval mode, for export and serving.

    Args:
        model: the trained model (eval mode is set here).
        shape: the run's data shape.
        normalization: the run's ``normalization.json`` (``mean``/``std``; empty when off).
    """

    def __init__(self, model: nn.Module, shape: DataShape, normalization: dict[str, Any]) -> None:
        super().__init__()
        self.model = model.eval()
        self.task = model_task(model, shape)
        self.variable_length = bool(shape.variable_length) and self.task in (
            "classification", "regression") and getattr(model, "accepts_lengths", False)
        self.normalized = bool(normalization.get("mean"))
        if self.normalized:
            self.register_buffer("mean", _stat(normalization["mean"], shape))
            self.register_buffer("std", _stat(normalization["std"], shape))
        self.eval()

    def _normalize(self, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        if not self.normalized:
            return x
        x = (x - self.mean) / self.std
        if lengths is not None:  # padded steps stay zero, as in training
            steps = torch.arange(x.shape[1], device=x.device)[None, :]
            x = x * (steps < lengths[:, None]).unsqueeze(-1).to(x.dtype)
        return x

    def _denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean if self.normalized else x

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        if self.task == "generation":
            return self._denormalize(self.model.generator(x))  # (B, *shape)
        if self.task == "reconstruction":
            return self._denormalize(self.model(self._normalize(x, None)))  # (B, *shape)
        xn = self._normalize(x, lengths)
        out = self.model(xn, lengths) if self.variable_length else self.model(xn)  # (B, K)
        return torch.softmax(out, dim=-1) if self.task == "classification" else out


def exportable(model: nn.Module) -> nn.Module:
    """Switch the parts exporters cannot trace to their exportable equivalents, in place.

    Packed recurrences become ``PaddedRNN`` (same results, see models/blocks/padded_rnn.py).
    """
    for module in model.modules():
        if hasattr(module, "without_packing"):
            module.without_packing()
    return model
