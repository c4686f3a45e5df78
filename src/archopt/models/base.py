"""What every model family shares: the config base, the features -> head model, shape probes.

A family file imports from here and from ``blocks``; ``build.py`` turns a spec section into a
model through the registry and checks that the model fits the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError

ALL_KINDS = ("image", "sequence", "tabular")


class FamilyConfig(BaseModel):
    """Base of every model config: unknown keys are errors; ``kinds`` lists the data it takes."""

    model_config = ConfigDict(extra="forbid")
    kinds: ClassVar[tuple[str, ...]] = ALL_KINDS


class Classifier(nn.Module):
    """``features`` (input -> feature vector) then ``head`` (features -> outputs).

    Classifiers and regressors share this shape so that the trainer, distillation and
    linear probes can reach the features; ``forward(x) == head(features(x))``.
    """

    def __init__(self, features: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class LengthAwareClassifier(Classifier):
    """A Classifier whose features use the true lengths of zero-padded sequences."""

    accepts_lengths = True

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.features(x, lengths))


@torch.no_grad()
def probe(module: nn.Module, in_shape: Sequence[int], **kwargs: Any) -> tuple[int, ...]:
    """Output shape (without batch) of ``module`` on a zero batch of 2 examples, in eval mode.

    Zeros, not random numbers, so that probing never moves the global random state.
    """
    was_training = module.training
    module.eval()
    try:
        out = module(torch.zeros(2, *in_shape), **kwargs)
    finally:
        module.train(was_training)
    return tuple(out.shape[1:])


def expand(values: int | list[int] | None, n: int, field: str, default: int | None = None
           ) -> list[int | None]:
    """One value per stage: a scalar is repeated; a list must have ``n`` values."""
    if values is None:
        return [default] * n
    if isinstance(values, int):
        return [values] * n
    if len(values) != n:
        raise UserError(f"model.{field}", f"has {len(values)} values but there are {n} stages",
                        f"give one value per stage, or a single number for all {n}")
    return list(values)


def head_layer(in_f: int, shape: DataShape) -> nn.Linear:
    """The output layer: one output per class (classification) or target value (regression)."""
    return nn.Linear(in_f, shape.num_outputs)


def flat_size(in_shape: Sequence[int]) -> int:
    n = 1
    for s in in_shape:
        n *= int(s)
    return n
