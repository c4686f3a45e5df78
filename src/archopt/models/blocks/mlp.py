"""Fully connected blocks: linear -> norm -> act -> dropout, optionally residual."""

from __future__ import annotations

import torch
from torch import nn

from archopt.models.blocks.act import make_act
from archopt.models.blocks.norm import make_norm


class DenseBlock(nn.Module):
    """linear -> norm -> act -> dropout; ``residual`` adds the input when sizes match."""

    def __init__(self, in_f: int, out_f: int, act: str = "relu", norm: str = "none",
                 dropout: float = 0.0, residual: bool = False) -> None:
        super().__init__()
        self.linear = nn.Linear(in_f, out_f)
        self.norm = make_norm(norm, out_f, 0)
        self.act = make_act(act)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.residual = residual and in_f == out_f

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, in_f) -> (B, out_f)
        y = self.drop(self.act(self.norm(self.linear(x))))
        return x + y if self.residual else y


def dense_stack(in_f: int, hidden: list[int], act: str = "relu", norm: str = "none",
                dropout: float = 0.0, residual: bool = False) -> nn.Sequential:
    """DenseBlocks through ``hidden`` sizes; returns the stack (its output size is hidden[-1])."""
    layers, size = [], in_f
    for h in hidden:
        layers.append(DenseBlock(size, h, act, norm, dropout, residual))
        size = h
    return nn.Sequential(*layers)


class FeedForward(nn.Module):
    """The transformer MLP: linear -> act -> dropout -> linear -> dropout."""

    def __init__(self, width: int, hidden: int, act: str = "gelu", dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(width, hidden), make_act(act), nn.Dropout(dropout),
                                 nn.Linear(hidden, width), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, C) -> (B, T, C)
        return self.net(x)
