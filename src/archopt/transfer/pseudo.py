"""``data.pseudo_labels``: self-training (Lee 2013, the "pseudo-label" recipe of semi-supervised
learning). The training examples that ``data.per_class`` leaves out are not thrown away: a
finished run (usually the linear probe of the same labels) predicts each, and those it is at
least ``threshold`` sure of join the training split with its prediction as their label. Their
own labels are never read; validation and test are untouched. ``fit`` and ``evaluate`` apply it
to the data ``load_data`` gives (the data layer knows no models).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archopt.data.dataset import Dataset, Split
from archopt.errors import UserError
from archopt.transfer.schema import PseudoLabelSpec


@torch.no_grad()
def predict(run: str | Path, x: torch.Tensor, checkpoint: str, normalization: dict,
            num_classes: int) -> torch.Tensor:
    """Softmax probabilities (N, C) of a run's model for inputs normalized as this data's."""
    from archopt.data.dataset import DataShape
    from archopt.models.structure import rebuild
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec
    from archopt.train.checkpoint import checkpoint_path, load_checkpoint

    path = check_run_dir(run)
    spec = load_spec(path / "spec.yaml")
    shape = DataShape.from_dict(json.loads((path / "data_shape.json").read_text()))
    if shape.task != "classification" or shape.num_outputs != num_classes:
        raise UserError("data.pseudo_labels.from", f"{path} predicts {shape.num_outputs} "
                        f"outputs ({shape.task}), and this data has {num_classes} classes",
                        "use a run trained on the same classes (its probe, say)")
    saved = json.loads((path / "normalization.json").read_text())
    if saved.keys() != normalization.keys() or not all(
            np.allclose(saved[k], normalization[k], rtol=1e-5, atol=1e-7) for k in saved):
        raise UserError("data.pseudo_labels.from", f"{path} was trained on inputs normalized "
                        "otherwise than this data's", "use a run of the same dataset")
    model = rebuild(spec, shape, load_checkpoint(checkpoint_path(path, checkpoint))).eval()
    return torch.cat([model(x[i:i + 512]).float().softmax(1) for i in range(0, len(x), 512)])


def add_pseudo_labels(pool: Split, labelled: torch.Tensor, cfg: PseudoLabelSpec,
                      normalization: dict, num_classes: int) -> Split:
    """The labelled examples ``pool[labelled]`` (their labels), then every other example of
    ``pool`` the run is sure of (its label)."""
    rest = torch.ones(len(pool), dtype=torch.bool)
    rest[labelled] = False
    others = torch.nonzero(rest).flatten()
    probs = predict(cfg.from_, pool.x[others], cfg.checkpoint, normalization, num_classes)
    sure, label = probs.max(1)
    keep = sure >= cfg.threshold
    idx = torch.cat([labelled, others[keep]])
    lengths = pool.lengths[idx] if pool.lengths is not None else None
    return Split(pool.x[idx], torch.cat([pool.y[labelled], label[keep]]), lengths)


def apply_pseudo_labels(data: Dataset, spec: Any) -> Dataset:
    """``data`` (from ``load_data(spec.data, spec.seed)``) with ``data.pseudo_labels`` applied:
    its training split becomes the labelled examples and the run's sure ones (in place)."""
    cfg = spec.data.pseudo_labels
    if cfg is None:
        return data
    from archopt.data import load_data
    from archopt.data.subset import labelled_indices

    if data.task != "classification" or not isinstance(data.train, Split):
        raise UserError("data.pseudo_labels", "needs classification data held in memory",
                        "remove data.pseudo_labels")
    if spec.data.per_class is None:
        raise UserError("data.pseudo_labels", "labels the training examples per_class leaves "
                        "out, and per_class is not set", "set data.per_class")
    pool = load_data(spec.data.model_copy(update={"per_class": None}), spec.seed).train
    labelled = labelled_indices(pool.y, spec.data.per_class, spec.seed)
    data.train = add_pseudo_labels(pool, labelled, cfg, data.normalization,
                                   len(data.class_names))
    return data
