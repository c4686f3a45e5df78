"""Small seeded synthetic datasets for tests and quick experiments.

Each kind has a learnable signal, so a model trained on it beats chance:
classification labels come from a random linear projection of the inputs (argmax), regression
targets are a random linear map plus a little noise.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from archopt.data.dataset import Dataset
from archopt.data.source import from_arrays
from archopt.registry import DATASETS


class SyntheticConfig(BaseModel):
    """A generated dataset; every size is configurable."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["classification", "regression", "sequence", "image"] = "classification"
    # classification / regression: tabular (N, features); sequence: (N, length, features);
    # image: (N, channels, size, size)
    num_train: int = Field(256, ge=2)     # training examples
    num_test: int = Field(64, ge=1)       # test examples
    num_classes: int = Field(3, ge=2)     # classes (not used by regression)
    features: int = Field(8, ge=1)        # features (tabular, sequence)
    outputs: int = Field(1, ge=1)         # regression target size D
    length: int = Field(32, ge=2)         # sequence steps T
    variable_length: bool = False         # sequences of random length, zero-padded to `length`
    channels: int = Field(1, ge=1)        # image channels C
    size: int = Field(8, ge=2)            # image height and width
    data_seed: int = 0                    # the generator's seed (not the spec's seed)


def _generate(cfg: SyntheticConfig) -> dict[str, Any]:
    rng = np.random.default_rng(cfg.data_seed)
    n = cfg.num_train + cfg.num_test
    if cfg.kind == "sequence":
        shape: tuple[int, ...] = (cfg.length, cfg.features)
    elif cfg.kind == "image":
        shape = (cfg.channels, cfg.size, cfg.size)
    else:
        shape = (cfg.features,)
    x = rng.standard_normal((n, *shape)).astype(np.float32)
    lengths = None
    if cfg.kind == "sequence" and cfg.variable_length:
        lengths = rng.integers(max(2, cfg.length // 2), cfg.length + 1, size=n)
        x[np.arange(cfg.length)[None, :] >= lengths[:, None]] = 0.0  # zero padding
    flat = x.reshape(n, -1)
    if cfg.kind == "regression":
        w = rng.standard_normal((flat.shape[1], cfg.outputs)) / np.sqrt(flat.shape[1])
        y = (flat @ w + 0.05 * rng.standard_normal((n, cfg.outputs))).astype(np.float32)
    else:
        w = rng.standard_normal((flat.shape[1], cfg.num_classes))
        y = np.argmax(flat @ w, axis=1).astype(np.int64)
    return {"x": x, "y": y, "lengths": lengths}


@DATASETS.register("synthetic", config=SyntheticConfig)
def synthetic(cfg: SyntheticConfig, **_: Any) -> Dataset:
    """Seeded generated data: tabular classification or regression, sequences or images."""
    g = _generate(cfg)
    x, y, lengths = g["x"], g["y"], g["lengths"]
    k = cfg.num_train
    task = "regression" if cfg.kind == "regression" else "classification"
    kind = {"sequence": "sequence", "image": "image"}.get(cfg.kind, "tabular")
    names = [str(i) for i in range(cfg.num_classes)] if task == "classification" else None
    return from_arrays("synthetic", kind, task, x[:k], y[:k], x[k:], y[k:], names,  # type: ignore[arg-type]
                       lengths[:k] if lengths is not None else None,
                       lengths[k:] if lengths is not None else None)
