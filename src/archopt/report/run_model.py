"""A saved run brought back for its report: spec, data, the model with its best weights, and
its outputs on a split.

Only the report needs this (for regression plots, reconstructions and the profile); listing
runs never loads a model or a checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch


@dataclass
class LoadedRun:
    """What a report needs from a run: its spec, data, shape and model (eval mode, CPU)."""

    spec: Any
    shape: Any
    model: torch.nn.Module
    checkpoint: Path | None     # the weights loaded (None: a fresh model, for the profile only)
    data: Any = None            # the Dataset, when it could be loaded


def load_run(run_dir: Path, with_data: bool = True) -> LoadedRun:
    """Build the run's model from spec.yaml and data_shape.json, load the weights that
    metrics.json's headline figures come from (``best.pt`` or ``last.pt``) and, when asked, the
    run's data (same split and normalization)."""
    from archopt.data import DataShape, load_data
    from archopt.models import build_model
    from archopt.spec import load_spec
    from archopt.train.checkpoint import load_checkpoint
    from archopt.train.fit import checkpoint_path

    spec = load_spec(run_dir / "spec.yaml", validate_plugins=False)
    shape = DataShape.from_dict(json.loads((run_dir / "data_shape.json").read_text()))
    model = build_model(spec.model, shape, seed=spec.seed)
    ckpt: Path | None = checkpoint_path(run_dir, "headline")  # metrics.json's weights
    if not ckpt.is_file():
        ckpt = None
    if ckpt is not None:
        state = load_checkpoint(ckpt)
        if "structure" in state:  # a compressed run: pruned shapes or an int8 ONNX model
            from archopt.compress import rebuild

            model = rebuild(spec, shape, state)
        else:
            model.load_state_dict(state["model"])
    model.eval()
    data = load_data(spec.data, spec.seed) if with_data else None
    return LoadedRun(spec, shape, model, ckpt, data)


@torch.no_grad()
def predict(run: LoadedRun, split: Any, limit: int | None = None
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(inputs, outputs, targets)`` of the model on (the first ``limit`` examples of) a
    split, on CPU, in eval mode."""
    from archopt.data import Loader
    from archopt.train.tasks import forward

    xs, outs, ys = [], [], []
    loader = Loader(split, run.spec.data.batch_size, shuffle=False, seed=run.spec.seed)
    seen = 0
    for batch in loader:
        outs.append(forward(run.model, run.model, batch.x, batch.lengths).float())
        xs.append(batch.x)
        ys.append(batch.y)
        seen += len(batch.x)
        if limit is not None and seen >= limit:
            break
    x, out, y = torch.cat(xs), torch.cat(outs), torch.cat(ys)
    return (x[:limit], out[:limit], y[:limit]) if limit is not None else (x, out, y)
