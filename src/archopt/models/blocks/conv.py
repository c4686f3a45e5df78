"""Convolution + normalization + activation, in one or two dimensions."""

from __future__ import annotations

from torch import nn

from archopt.models.blocks.act import make_act
from archopt.models.blocks.norm import make_norm


def conv_layer(dims: int, *args, **kwargs) -> nn.Module:
    """``nn.Conv1d`` or ``nn.Conv2d``."""
    return (nn.Conv2d if dims == 2 else nn.Conv1d)(*args, **kwargs)


def pool_layer(kind: str, dims: int, size: int) -> nn.Module:
    """max | avg pooling with window and stride ``size``; none is the identity."""
    if kind == "none" or size <= 1:
        return nn.Identity()
    table = {("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d,
             ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d}
    return table[(kind, dims)](size)


def global_pool(dims: int) -> nn.Module:
    """Average over all positions: (B, C, *) -> (B, C)."""
    pool = nn.AdaptiveAvgPool2d(1) if dims == 2 else nn.AdaptiveAvgPool1d(1)
    return nn.Sequential(pool, nn.Flatten(1))


class ConvNormAct(nn.Sequential):
    """conv -> norm -> act. The conv has no bias when a norm follows (the norm has one)."""

    def __init__(self, dims: int, in_ch: int, out_ch: int, kernel: int, stride: int = 1,
                 padding: int | None = None, norm: str = "none", act: str = "relu") -> None:
        padding = kernel // 2 if padding is None else padding
        super().__init__(
            conv_layer(dims, in_ch, out_ch, kernel, stride, padding, bias=norm == "none"),
            make_norm(norm, out_ch, dims),
            make_act(act),
        )

