"""Positional encodings added to token embeddings (B, T, C): sinusoidal or learned."""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalPosition(nn.Module):
    """The fixed sin/cos encoding of Vaswani et al. (2017); no parameters."""

    def __init__(self, width: int, max_len: int) -> None:
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)  # (T, 1)
        div = torch.exp(torch.arange(0, width, 2) * (-math.log(10000.0) / width))
        pe = torch.zeros(max_len, width)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div[: width // 2])
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        return x + self.pe[: x.shape[1]]


class LearnedPosition(nn.Module):
    """One trained vector per position."""

    def __init__(self, width: int, max_len: int) -> None:
        super().__init__()
        self.pe = nn.Parameter(torch.zeros(max_len, width))
        nn.init.trunc_normal_(self.pe, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C)
        return x + self.pe[: x.shape[1]]


def make_position(kind: str, width: int, max_len: int) -> nn.Module:
    """sinusoidal | learned | none."""
    if kind == "none":
        return nn.Identity()
    return {"sinusoidal": SinusoidalPosition, "learned": LearnedPosition}[kind](width, max_len)
