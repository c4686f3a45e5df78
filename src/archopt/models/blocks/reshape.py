"""Layout changes as layers, so they show up in model printouts and profiles."""

from __future__ import annotations

import torch
from torch import nn


def standard_strides(x: torch.Tensor) -> torch.Tensor:
    """``x`` as a view whose size-1 dimensions have the standard strides.

    Transposing (B, T, 1) gives (B, 1, T) with strides (T, 1, 1): contiguous by torch's rule,
    which ignores size-1 dimensions, but a convolution reads the channel stride of 1 as the
    channels-last layout, and then every conv and ReLU of the network runs in mixed layouts
    (the first ReLU's backward 9x slower, extra copies: 7% of the MNIST-1D paper CNN's training
    step on a CPU, benchmarks/bench_step_cost.py). The view costs nothing.
    """
    return x.view(x.shape)


class ChannelsFirst(nn.Module):
    """(B, T, F) -> (B, F, T): sequences enter 1-D convolutions with features as channels."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return standard_strides(x.transpose(1, 2))


class Permute(nn.Module):
    """Reorder dimensions, the batch included: ``Permute([0, 2, 1])``."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return standard_strides(x.permute(*self.dims))

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
