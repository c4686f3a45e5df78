"""``cnn``: VGG/LeNet-style convolution stages, 1-D for sequences and 2-D for images.

Blocks: ``ConvNormAct`` per stage, then pooling; ``global_pool`` or flatten; a dense head.
Sequences (B, T, F) are turned into (B, F, T) first, so features are the channels.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models.base import Classifier, FamilyConfig, expand, head_layer, probe
from archopt.models.blocks import ChannelsFirst, ConvNormAct, dense_stack, global_pool, pool_layer
from archopt.models.blocks.act import ActName
from archopt.models.blocks.norm import NormName
from archopt.registry import MODELS


class CNNConfig(FamilyConfig):
    """Convolution stages followed by a dense head."""

    kinds = ("image", "sequence")
    dims: Literal["auto", 1, 2] = Field("auto", description="1-D or 2-D convs; auto: by data")
    channels: list[int] = Field([32, 64], min_length=1, description="output channels per stage")
    kernel_sizes: int | list[int] = Field(3, description="kernel size, per stage or for all")
    strides: int | list[int] = Field(1, description="conv stride, per stage or for all")
    padding: int | list[int] | None = Field(None, description="zero padding; None: kernel // 2")
    activation: ActName = Field("relu", description="nonlinearity after each conv and hidden")
    norm: NormName = Field("none", description="normalization after each conv")
    pool: Literal["max", "avg", "none"] = Field("max", description="pooling after each stage")
    pool_size: int = Field(2, ge=1, description="pooling window and stride")
    global_pool: bool = Field(True, description="average over positions; False: flatten")
    head: list[int] = Field([], description="hidden layer sizes of the head")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after stages and hiddens")


class CNN(Classifier):
    """conv stages + pooling/flatten (features) -> dense head."""


def conv_dims(cfg_dims: str | int, shape: DataShape) -> int:
    """1 for sequences, 2 for images; a UserError for a 2-D conv on sequences."""
    natural = 2 if shape.kind == "image" else 1
    if cfg_dims != "auto" and cfg_dims != natural:
        raise UserError("model.dims", f"{cfg_dims}-D convolutions do not fit {shape.kind} data",
                        f"use dims: {natural} (or auto) for {shape.kind} data")
    return natural


def conv_stages(cfg: CNNConfig, shape: DataShape) -> tuple[list[nn.Module], tuple[int, ...]]:
    """The conv stages as a layer list and their output shape (C, *positions).

    Each stage is built and probed in turn so that a kernel larger than what is left of the
    input is reported at the stage where it happens.
    """
    dims = conv_dims(cfg.dims, shape)
    n = len(cfg.channels)
    kernels = expand(cfg.kernel_sizes, n, "kernel_sizes")
    strides = expand(cfg.strides, n, "strides")
    pads = expand(cfg.padding, n, "padding")
    layers: list[nn.Module] = [ChannelsFirst()] if dims == 1 else []
    out = probe(nn.Sequential(*layers), shape.input_shape)  # (C, *positions)
    for i, (ch, k, s, p) in enumerate(zip(cfg.channels, kernels, strides, pads)):
        p = k // 2 if p is None else p
        room = min(out[1:]) + 2 * p
        if k > room:
            raise UserError(f"model.kernel_sizes.{i}",
                            f"kernel {k} is larger than the input it sees at stage {i} "
                            f"({'x'.join(map(str, out[1:]))} positions, padding {p})",
                            "use a smaller kernel, less striding or pooling, or more padding")
        layers.append(ConvNormAct(dims, out[0], ch, k, s, p, cfg.norm, cfg.activation))
        out = probe(nn.Sequential(*layers), shape.input_shape)
        if cfg.pool != "none" and cfg.pool_size > 1 and min(out[1:]) >= cfg.pool_size:
            layers.append(pool_layer(cfg.pool, dims, cfg.pool_size))
            out = probe(nn.Sequential(*layers), shape.input_shape)
        if cfg.dropout > 0:
            layers.append(nn.Dropout(cfg.dropout))
    return layers, out


def _build_cnn(cfg: CNNConfig, shape: DataShape) -> CNN:
    layers, out = conv_stages(cfg, shape)
    dims = len(out) - 1
    layers.append(global_pool(dims) if cfg.global_pool else nn.Flatten(1))
    features = nn.Sequential(*layers)
    (size,) = probe(features, shape.input_shape)
    hidden = dense_stack(size, cfg.head, cfg.activation, "none", cfg.dropout)
    head = nn.Sequential(*hidden, head_layer(cfg.head[-1] if cfg.head else size, shape))
    return CNN(features, head)


@MODELS.register("cnn", config=CNNConfig)
def cnn(cfg: CNNConfig, shape: DataShape) -> CNN:
    """Convolutional net, 1-D for sequences / 2-D for images: stages, pooling, dense head."""
    return _build_cnn(cfg, shape)
