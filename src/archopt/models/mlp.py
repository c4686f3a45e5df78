"""``mlp``: a multilayer perceptron on the flattened input (any kind of data).

Blocks: ``DenseBlock`` (linear -> norm -> act -> dropout, optionally residual).
"""

from __future__ import annotations

from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.models.base import Classifier, FamilyConfig, flat_size, head_layer
from archopt.models.blocks import dense_stack
from archopt.models.blocks.act import ActName
from archopt.models.blocks.norm import NormName
from archopt.registry import MODELS


class MLPConfig(FamilyConfig):
    """A stack of fully connected layers."""

    hidden: list[int] = Field([128, 128], description="sizes of the hidden layers; [] = linear")
    activation: ActName = Field("relu", description="nonlinearity after each hidden layer")
    norm: NormName = Field("none", description="normalization after each hidden linear layer")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after each hidden layer")
    residual: bool = Field(False, description="add a block's input to its output if sizes match")


class MLP(Classifier):
    """flatten -> hidden DenseBlocks (features) -> linear (head)."""


def _build_mlp(cfg: MLPConfig, shape: DataShape) -> MLP:
    in_f = flat_size(shape.input_shape)
    blocks = dense_stack(in_f, cfg.hidden, cfg.activation, cfg.norm, cfg.dropout, cfg.residual)
    features = nn.Sequential(nn.Flatten(1), *blocks)  # (B, *input) -> (B, hidden[-1])
    return MLP(features, head_layer(cfg.hidden[-1] if cfg.hidden else in_f, shape))


@MODELS.register("mlp", config=MLPConfig)
def mlp(cfg: MLPConfig, shape: DataShape) -> MLP:
    """Multilayer perceptron on the flattened input: hidden sizes, activation, norm, dropout."""
    return _build_mlp(cfg, shape)
