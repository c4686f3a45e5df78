"""``resnet``: residual networks (He et al. 2016), 1-D for sequences and 2-D for images.

Blocks: a ``ConvNormAct`` stem, stages of ``BasicBlock`` or ``Bottleneck`` (the first block of
every stage after the first halves the positions), global average pooling, a linear head.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models.base import Classifier, FamilyConfig, head_layer
from archopt.models.blocks import BLOCKS, ChannelsFirst, ConvNormAct, global_pool
from archopt.models.blocks.act import ActName
from archopt.models.blocks.norm import NormName
from archopt.models.cnn import conv_dims
from archopt.registry import MODELS


class ResNetConfig(FamilyConfig):
    """A residual network."""

    kinds = ("image", "sequence")
    dims: Literal["auto", 1, 2] = Field("auto", description="1-D or 2-D convs; auto: by data")
    block: Literal["basic", "bottleneck"] = Field("basic", description="residual block type")
    widths: list[int] = Field([16, 32, 64], min_length=1, description="block width per stage")
    depths: list[int] = Field([1, 1, 1], min_length=1, description="blocks per stage")
    stem_channels: int = Field(16, gt=0, description="channels of the first conv")
    stem_kernel: int = Field(3, gt=0, description="kernel of the first conv (7 for ImageNet)")
    stem_stride: int = Field(1, gt=0, description="stride of the first conv (2 for ImageNet)")
    stem_pool: bool = Field(False, description="3-wide max pool, stride 2, after the stem")
    activation: ActName = Field("relu", description="nonlinearity inside the blocks")
    norm: NormName = Field("batch", description="normalization after each conv")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout before the head")


class ResNet(Classifier):
    """stem -> residual stages -> global average pool (features) -> linear head."""


def _build_resnet(cfg: ResNetConfig, shape: DataShape) -> ResNet:
    if len(cfg.widths) != len(cfg.depths):
        raise UserError("model.depths", f"has {len(cfg.depths)} values but widths has "
                        f"{len(cfg.widths)}", "give one depth (blocks) per stage width")
    dims = conv_dims(cfg.dims, shape)
    in_ch = shape.input_shape[0] if dims == 2 else shape.input_shape[1]
    layers: list[nn.Module] = [ChannelsFirst()] if dims == 1 else []
    layers.append(ConvNormAct(dims, in_ch, cfg.stem_channels, cfg.stem_kernel, cfg.stem_stride,
                              None, cfg.norm, cfg.activation))
    if cfg.stem_pool:
        layers.append((nn.MaxPool2d if dims == 2 else nn.MaxPool1d)(3, 2, 1))
    block, ch = BLOCKS[cfg.block], cfg.stem_channels
    for i, (width, depth) in enumerate(zip(cfg.widths, cfg.depths)):
        for j in range(depth):
            stride = 2 if i > 0 and j == 0 else 1
            layers.append(block(dims, ch, width, stride, cfg.norm, cfg.activation))
            ch = width * block.expansion
    layers.append(global_pool(dims))
    if cfg.dropout > 0:
        layers.append(nn.Dropout(cfg.dropout))
    return ResNet(nn.Sequential(*layers), head_layer(ch, shape))


@MODELS.register("resnet", config=ResNetConfig)
def resnet(cfg: ResNetConfig, shape: DataShape) -> ResNet:
    """Residual net (basic | bottleneck blocks), stages of widths x depths, 1-D or 2-D."""
    return _build_resnet(cfg, shape)
