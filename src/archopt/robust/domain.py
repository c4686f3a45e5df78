"""What an attack or a corruption works on: the model as a function of the user's raw inputs,
and the inputs' valid range.

A run's data is stored normalized (``archopt.data.load``); attacking the normalized tensors with
an epsilon meant in pixels is the classic mistake (foolbox#681, ART#268). Here the attacked
function is ``model((x_raw - mean) / std)`` in eval mode, so every epsilon is in the data's own
units, and the valid range is the raw training split's (images: the pixels' min and max;
sequences and tabular data: unbounded unless the user gives one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError


@dataclass(frozen=True)
class Domain:
    """Where perturbed inputs may lie, in raw units.

    lo, hi: the valid range (None: unbounded on that side).
    span: max - min of the raw training inputs: the scale relative epsilons are fractions of.
    """

    lo: float | None
    hi: float | None
    span: float

    @property
    def bounded(self) -> bool:
        return self.lo is not None and self.hi is not None

    def clamp(self, x: torch.Tensor) -> torch.Tensor:
        if self.lo is None and self.hi is None:
            return x
        return x.clamp(self.lo, self.hi)

    def to_dict(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi, "span": self.span}


def data_domain(raw_train: torch.Tensor, kind: str, given: str = "auto") -> Domain:
    """The valid range of a dataset: ``given`` is ``auto`` (images bounded by the training
    pixels' min and max, other kinds unbounded), ``none`` (unbounded) or ``LO:HI``."""
    lo_seen, hi_seen = float(raw_train.min()), float(raw_train.max())
    span = max(hi_seen - lo_seen, 1e-12)
    if given == "auto":
        return Domain(lo_seen, hi_seen, span) if kind == "image" else Domain(None, None, span)
    if given == "none":
        return Domain(None, None, span)
    try:
        lo, hi = (float(v) for v in given.split(":"))
    except ValueError:
        raise UserError("--range", f"'{given}' is not auto, none or LO:HI",
                        "e.g. --range 0:1 for pixels scaled to [0, 1]") from None
    if not lo < hi:
        raise UserError("--range", f"{given}: LO must be below HI")
    if lo_seen < lo - 1e-6 or hi_seen > hi + 1e-6:
        raise UserError("--range", f"{given} does not hold the data (its inputs lie in "
                        f"[{lo_seen:.4g}, {hi_seen:.4g}])", "widen the range, or use auto")
    return Domain(lo, hi, hi - lo)


class RawInputLogits(nn.Module):
    """``model`` behind the run's normalization: raw inputs in, logits out (eval mode)."""

    def __init__(self, model: nn.Module, kind: str, normalization: dict[str, Any]) -> None:
        super().__init__()
        self.model = model
        mean, std = normalization.get("mean"), normalization.get("std")
        self.normalized = mean is not None
        if self.normalized:
            self.register_buffer("mean", stat_view(mean, kind))
            self.register_buffer("std", stat_view(std, kind))
        self.eval()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std if self.normalized else x

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean if self.normalized else x

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        xn = self.normalize(x)
        if lengths is not None and xn.ndim == 3:  # padded steps stay zero, as in training
            steps = torch.arange(xn.shape[1], device=xn.device)[None, :]
            xn = xn * (steps < lengths[:, None]).unsqueeze(-1).to(xn.dtype)
        if lengths is not None and getattr(self.model, "accepts_lengths", False):
            return self.model(xn, lengths)
        return self.model(xn)


def stat_view(values: Any, kind: str) -> torch.Tensor:
    """Per-channel (image) or per-feature statistics shaped to broadcast over a batch."""
    t = torch.as_tensor(values, dtype=torch.float32)
    if kind == "image":
        return t.view(1, -1, 1, 1)  # (1, C, 1, 1)
    if kind == "sequence":
        return t.view(1, 1, -1)  # (1, 1, F)
    return t.view(1, -1)  # (1, F)


def has_gradient(model: nn.Module) -> bool:
    """False for a model whose output has no gradient in its input (an int8 ONNX session)."""
    return not any(getattr(m, "onnx_int8", False) for m in model.modules())
