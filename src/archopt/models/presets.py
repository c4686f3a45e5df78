"""Published models, registered by name. A preset is its family's config with other defaults,
so any field can still be overridden: ``{name: mnist1d_cnn, dropout: 0.1}``.

Parameter counts (tested exactly): mnist1d_linear 410, mnist1d_mlp 15,210, mnist1d_cnn 5,210,
mnist1d_gru 5,134 (MNIST-1D, Greydanus 2020, on 40x1 inputs with 10 classes) and lenet5 62,006
(LeCun et al. 1998, on 3x32x32 with 10 classes).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import nn

from archopt.data.dataset import DataShape
from archopt.models.cnn import CNNConfig, _build_cnn
from archopt.models.mlp import MLPConfig, _build_mlp
from archopt.models.rnn import RNNConfig, _build_rnn
from archopt.registry import MODELS


class MNIST1DLinearConfig(MLPConfig):
    hidden: list[int] = Field([], description="sizes of the hidden layers; [] = linear")


class MNIST1DMLPConfig(MLPConfig):
    hidden: list[int] = Field([100, 100], description="sizes of the hidden layers")


class MNIST1DCNNConfig(CNNConfig):
    channels: list[int] = Field([25, 25, 25], min_length=1, description="channels per stage")
    kernel_sizes: int | list[int] = Field([5, 3, 3], description="kernel size per stage")
    strides: int | list[int] = Field(2, description="conv stride, per stage or for all")
    padding: int | list[int] | None = Field(1, description="zero padding; None: kernel // 2")
    pool: Literal["max", "avg", "none"] = Field("none", description="pooling after each stage")
    global_pool: bool = Field(False, description="average over positions; False: flatten")


class MNIST1DGRUConfig(RNNConfig):
    cell: Literal["rnn", "lstm", "gru"] = Field("gru", description="recurrent cell")
    hidden: int = Field(6, gt=0, description="state size per direction")
    bidirectional: bool = Field(True, description="also read the sequence backwards")
    pooling: Literal["last", "mean", "attention", "flatten"] = Field(
        "flatten", description="final state | mean over steps | attention | all steps flattened")


class LeNet5Config(CNNConfig):
    kinds = ("image",)
    channels: list[int] = Field([6, 16], min_length=1, description="channels per stage")
    kernel_sizes: int | list[int] = Field(5, description="kernel size per stage")
    padding: int | list[int] | None = Field(
        None, description="None: pad the first conv so the input acts as 32x32 (as LeNet-5)")
    activation: Literal["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "elu",
                        "none"] = Field("tanh", description="nonlinearity (tanh as in 1998)")
    pool: Literal["max", "avg", "none"] = Field("avg", description="subsampling after convs")
    global_pool: bool = Field(False, description="average over positions; False: flatten")
    head: list[int] = Field([120, 84], description="hidden layer sizes of the head")


@MODELS.register("mnist1d_linear", config=MNIST1DLinearConfig)
def mnist1d_linear(cfg: MNIST1DLinearConfig, shape: DataShape) -> nn.Module:
    """MNIST-1D paper's logistic regression: one linear layer (410 params on 40 -> 10)."""
    return _build_mlp(cfg, shape)


@MODELS.register("mnist1d_mlp", config=MNIST1DMLPConfig)
def mnist1d_mlp(cfg: MNIST1DMLPConfig, shape: DataShape) -> nn.Module:
    """MNIST-1D paper's MLP: 40-100-100-10 with ReLU (15,210 params)."""
    return _build_mlp(cfg, shape)


@MODELS.register("mnist1d_cnn", config=MNIST1DCNNConfig)
def mnist1d_cnn(cfg: MNIST1DCNNConfig, shape: DataShape) -> nn.Module:
    """MNIST-1D paper's CNN: 3 strided conv1d of 25 channels, flatten, linear (5,210 params)."""
    return _build_cnn(cfg, shape)


@MODELS.register("mnist1d_gru", config=MNIST1DGRUConfig)
def mnist1d_gru(cfg: MNIST1DGRUConfig, shape: DataShape) -> nn.Module:
    """MNIST-1D paper's GRU: bidirectional, hidden 6, linear over all steps (5,134 params)."""
    return _build_rnn(cfg, shape)


@MODELS.register("lenet5", config=LeNet5Config)
def lenet5(cfg: LeNet5Config, shape: DataShape) -> nn.Module:
    """LeNet-5: conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, out (62,006 params on 3x32x32)."""
    if cfg.padding is None:
        # LeNet-5 reads 32x32 inputs; smaller images (28x28 MNIST, 8x8 digits) are zero-padded
        # by the first conv up to 32x32, so the geometry and parameter count stay the paper's.
        first = max(0, (32 - min(shape.input_shape[1:])) // 2)
        cfg = cfg.model_copy(update={"padding": [first] + [0] * (len(cfg.channels) - 1)})
    return _build_cnn(cfg, shape)
