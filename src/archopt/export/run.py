"""A trained run, loaded for export and serving: spec, data shape, normalization, the model with
its best weights, and the raw test split the artifact is checked on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.data.dataset import DataShape, Split
from archopt.errors import UserError


@dataclass
class LoadedRun:
    """What export and serve need from a run directory."""

    path: Path
    spec: Any                      # archopt.spec.Spec
    shape: DataShape
    normalization: dict[str, Any]
    model: nn.Module               # best weights, eval mode, on CPU
    checkpoint: Path
    spec_sha256: str
    class_names: list[str] = field(default_factory=list)
    raw_test: Split | None = None  # test inputs as the user has them (not normalized)


def load_run(run_dir: str | Path, with_data: bool = True) -> LoadedRun:
    """Load a run directory's model (the headline checkpoint: the weights metrics.json's figures
    come from, as ``archopt eval``) and, with ``with_data``, its raw test data.

    Raises:
        UserError: not a run directory, a missing or corrupt checkpoint, a dataset that changed.
    """
    from archopt.models import build_model
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec
    from archopt.train.checkpoint import load_checkpoint
    from archopt.train.fit import checkpoint_path

    path = check_run_dir(run_dir)
    spec_file = path / "spec.yaml"
    spec = load_spec(spec_file)
    shape_file = path / "data_shape.json"
    if not shape_file.is_file():
        raise UserError(str(shape_file), "missing", "pass a run directory written by "
                        "`archopt train` (it writes data_shape.json)")
    shape = DataShape.from_dict(json.loads(shape_file.read_text()))
    norm_file = path / "normalization.json"
    normalization = json.loads(norm_file.read_text()) if norm_file.is_file() else {}
    ckpt = checkpoint_path(path, "headline")
    state = load_checkpoint(ckpt)
    if state.get("structure"):  # a compressed run (archopt compress): pruned widths or int8
        model = rebuild_compressed(spec, shape, state)
    else:
        model = build_model(spec.model, shape, seed=spec.seed)
        model.load_state_dict(state["model"])
    model.eval()
    run = LoadedRun(path, spec, shape, normalization, model, ckpt,
                    hashlib.sha256(spec_file.read_bytes()).hexdigest())
    if with_data:
        run.class_names, run.raw_test = raw_test_data(spec)
    return run


def rebuild_compressed(spec: Any, shape: DataShape, state: dict[str, Any]) -> nn.Module:
    """The model of a pruned or int8 checkpoint, through ``archopt.models.structure``."""
    try:
        from archopt.models.structure import rebuild
    except ImportError:
        raise UserError("checkpoint", "this run was compressed, and this archopt cannot read "
                        "compressed checkpoints", "update archopt") from None
    return rebuild(spec, shape, state)


def raw_test_data(spec: Any, limit: int = 10_000) -> tuple[list[str], Split | None]:
    """Class names and up to ``limit`` test examples as the dataset's builder returns them (not
    normalized): what parity is checked on. A streamed split is read example by example."""
    from archopt.data.load import build_raw

    ds = build_raw(spec.data)
    test = ds.test
    if not hasattr(test, "x"):  # a StreamingSplit of image files
        items = [test.dataset[i] for i in range(min(len(test), limit))]
        test = Split(torch.stack([x for x, _ in items]), torch.stack([y for _, y in items]))
    elif len(test) > limit:
        lengths = test.lengths[:limit] if test.lengths is not None else None
        test = Split(test.x[:limit], test.y[:limit], lengths)
    return list(ds.class_names), test
