"""The dataset contract every loader returns, and the shape summary models are built from.

A ``Dataset`` holds in-memory tensors for train / val / test, already normalized with statistics
fitted on the training split. ``DataShape`` is the part a model needs (kind, input shape, outputs)
and is saved with a run so a model can be rebuilt without the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import torch

Kind = Literal["image", "sequence", "tabular"]
Task = Literal["classification", "regression"]


@dataclass
class Split:
    """One split of examples.

    x: (N, *input_shape) float32. image (N, C, H, W), sequence (N, T, F), tabular (N, F).
    y: (N,) int64 class indices for classification; (N, D) float32 for regression.
    lengths: (N,) int64 true lengths of zero-padded variable-length sequences, else None.
    """

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class DataShape:
    """What a model must know about the data to be built."""

    kind: Kind
    input_shape: tuple[int, ...]   # image (C, H, W), sequence (T, F), tabular (F,)
    task: Task
    num_outputs: int               # classes for classification, target size for regression
    variable_length: bool = False  # batches carry `lengths`
    # regression: per-target mean and std of the training split; models predict in these units
    # through a fixed output scale, so the loss sees standardized targets (see build_model)
    target_mean: tuple[float, ...] | None = None
    target_std: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {**asdict(self), "input_shape": list(self.input_shape)}
        for k in ("target_mean", "target_std"):
            d[k] = list(d[k]) if d[k] is not None else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataShape:
        d = {**d, "input_shape": tuple(d["input_shape"])}
        for k in ("target_mean", "target_std"):
            d[k] = tuple(d[k]) if d.get(k) is not None else None
        return cls(**d)


@dataclass
class Dataset:
    """A loaded dataset: splits plus what they are."""

    name: str
    kind: Kind
    task: Task
    input_shape: tuple[int, ...]
    train: Split
    test: Split
    val: Split | None = None
    class_names: list[str] = field(default_factory=list)   # classification only
    normalization: dict[str, Any] = field(default_factory=dict)  # {"mean": [...], "std": [...]}
    feature_names: list[str] = field(default_factory=list)  # tabular: one per column of x, when
    #                                                         known (CSV headers, scikit-learn)

    @property
    def num_classes(self) -> int | None:
        return len(self.class_names) if self.task == "classification" else None

    @property
    def shape(self) -> DataShape:
        if self.task == "classification":
            outputs = len(self.class_names)
        else:
            outputs = 1 if self.train.y.ndim == 1 else int(self.train.y.shape[1])
        variable = self.train.lengths is not None
        mean, std = self.normalization.get("target_mean"), self.normalization.get("target_std")
        return DataShape(self.kind, tuple(self.input_shape), self.task, outputs, variable,
                         tuple(mean) if mean is not None else None,
                         tuple(std) if std is not None else None)
