"""What a compression step starts from: a finished run, its spec, data, checkpoint and model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError
from archopt.spec import load_spec
from archopt.spec.schema import Spec


@dataclass
class Context:
    """What a step starts from: the previous run, its model, the data, the settings."""

    spec: Spec                  # the previous run's spec (the one the step builds on)
    compress: Any               # the CompressSpec
    src: Path                   # the previous run directory
    state: dict[str, Any]       # its checkpoint (model, structure)
    model: nn.Module            # its model, rebuilt
    data: Any
    quiet: bool = True

    @property
    def shape(self) -> Any:
        return self.data.shape

    def example(self, batch: int = 1) -> torch.Tensor:
        from archopt.report.profile import example_input

        return example_input(self.model, self.shape, batch)


def finished_run(path: str | os.PathLike, where: str) -> Path:
    """A run directory with metrics.json and a checkpoint, or a UserError saying what is not."""
    p = Path(path)
    if not (p / "spec.yaml").is_file():
        raise UserError(where, f"{p} is no run directory (no spec.yaml)",
                        "pass a directory made by `archopt train` or `archopt compress`")
    if not (p / "metrics.json").is_file() or not checkpoint_of(p).is_file():
        raise UserError(where, f"{p} is not a finished run (no metrics.json or checkpoint)",
                        f"finish it first: archopt train --resume {p}")
    return p


def checkpoint_of(run: Path) -> Path:
    """The weights a run's metrics.json figures come from (what ``archopt eval`` reads)."""
    from archopt.train.fit import checkpoint_path

    return checkpoint_path(run, "headline")


def load_run(run: Path) -> tuple[Spec, Any, dict[str, Any], nn.Module]:
    """(spec, data, checkpoint, model) of a finished run."""
    from archopt.data import load_data
    from archopt.models.structure import rebuild
    from archopt.train.checkpoint import load_checkpoint

    spec = load_spec(run / "spec.yaml")
    data = load_data(spec.data, spec.seed)
    state = load_checkpoint(checkpoint_of(run))
    model = rebuild(spec, data.shape, state)
    model.eval()
    return spec, data, state, model
