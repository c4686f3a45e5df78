"""Layout changes as layers, so they show up in model printouts and profiles."""

from __future__ import annotations

import torch
from torch import nn


class ChannelsFirst(nn.Module):
    """(B, T, F) -> (B, F, T): sequences enter 1-D convolutions with features as channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class Permute(nn.Module):
    """Reorder dimensions, the batch included: ``Permute([0, 2, 1])``."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)

    def extra_repr(self) -> str:
        return f"dims={list(self.dims)}"


class Reshape(nn.Module):
    """(B, N) -> (B, *shape)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={list(self.shape)}"
