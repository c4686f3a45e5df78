"""Activation functions by name: the one table that turns a spec string into a layer."""

from __future__ import annotations

from typing import Literal

from torch import nn

ActName = Literal["relu", "leaky_relu", "gelu", "silu", "tanh", "sigmoid", "elu", "none"]

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "none": nn.Identity,
}


def make_act(name: str) -> nn.Module:
    """A fresh activation layer for ``name`` (``none`` is the identity)."""
    return ACTIVATIONS[name]()
