"""Residual blocks (He et al. 2016): basic (two 3-wide convs) and bottleneck (1, 3, 1)."""

from __future__ import annotations

import torch
from torch import nn

from archopt.models.blocks.act import make_act
from archopt.models.blocks.conv import ConvNormAct, conv_layer
from archopt.models.blocks.norm import make_norm


def shortcut(dims: int, in_ch: int, out_ch: int, stride: int, norm: str) -> nn.Module:
    """Identity when shapes match, else a strided 1x1 projection (+ norm)."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return nn.Sequential(conv_layer(dims, in_ch, out_ch, 1, stride, bias=norm == "none"),
                         make_norm(norm, out_ch, dims))


class BasicBlock(nn.Module):
    """conv3 -> norm -> act -> conv3 -> norm, plus the shortcut, then act."""

    expansion = 1

    def __init__(self, dims: int, in_ch: int, width: int, stride: int = 1,
                 norm: str = "batch", act: str = "relu") -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = ConvNormAct(dims, in_ch, width, 3, stride, norm=norm, act=act)
        self.conv2 = ConvNormAct(dims, width, out_ch, 3, 1, norm=norm, act="none")
        self.shortcut = shortcut(dims, in_ch, out_ch, stride, norm)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, *) -> (B, C', *)
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


class Bottleneck(nn.Module):
    """conv1 (reduce) -> conv3 (stride) -> conv1 (expand x4), plus the shortcut, then act."""

    expansion = 4

    def __init__(self, dims: int, in_ch: int, width: int, stride: int = 1,
                 norm: str = "batch", act: str = "relu") -> None:
        super().__init__()
        out_ch = width * self.expansion
        self.conv1 = ConvNormAct(dims, in_ch, width, 1, 1, norm=norm, act=act)
        self.conv2 = ConvNormAct(dims, width, width, 3, stride, norm=norm, act=act)
        self.conv3 = ConvNormAct(dims, width, out_ch, 1, 1, norm=norm, act="none")
        self.shortcut = shortcut(dims, in_ch, out_ch, stride, norm)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv3(self.conv2(self.conv1(x))) + self.shortcut(x))


BLOCKS: dict[str, type[BasicBlock] | type[Bottleneck]] = {"basic": BasicBlock,
                                                          "bottleneck": Bottleneck}
