"""``data.pseudo_labels``: self-training (Lee 2013; the "pseudo-label" recipe of semi-supervised
learning). The training examples that ``data.per_class`` leaves out are not thrown away: a
finished run (usually the linear probe of the same labels) predicts each, and those it is at
least ``threshold`` sure of join the training split with its prediction as their label. Their
own labels are never read; validation and test are untouched.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from archopt.data.dataset import Split
from archopt.errors import UserError
from archopt.transfer.schema import PseudoLabelSpec


@torch.no_grad()
def predict(run: Path, x: torch.Tensor, checkpoint: str, normalization: dict,
            num_classes: int) -> torch.Tensor:
    """Softmax probabilities (N, C) of a run's model for inputs normalized as this data's."""
    from archopt.data.dataset import DataShape
    from archopt.models.structure import rebuild
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec
    from archopt.train.checkpoint import checkpoint_path, load_checkpoint
    from archopt.train.fit import check_normalization

    path = check_run_dir(run)
    spec = load_spec(path / "spec.yaml")
    shape = DataShape.from_dict(json.loads((path / "data_shape.json").read_text()))
    if shape.task != "classification" or shape.num_outputs != num_classes:
        raise UserError("data.pseudo_labels.from", f"{path} predicts {shape.num_outputs} "
                        f"outputs ({shape.task}), and this data has {num_classes} classes",
                        "use a run trained on the same classes (its probe, say)")
    check_normalization(path / "normalization.json", normalization)
    model = rebuild(spec, shape, load_checkpoint(checkpoint_path(path, checkpoint))).eval()
    return torch.cat([model(x[i:i + 512]).float().softmax(1) for i in range(0, len(x), 512)])


def add_pseudo_labels(pool: Split, labelled: torch.Tensor, cfg: PseudoLabelSpec,
                      normalization: dict, num_classes: int) -> Split:
    """The labelled examples ``pool[labelled]`` (their labels), then every other example of
    ``pool`` the run is sure of (its label)."""
    rest = torch.ones(len(pool), dtype=torch.bool)
    rest[labelled] = False
    others = torch.nonzero(rest).flatten()
    probs = predict(Path(cfg.from_), pool.x[others], cfg.checkpoint, normalization,
                    num_classes)
    sure, label = probs.max(1)
    keep = others[sure >= cfg.threshold]
    idx = torch.cat([labelled, keep])
    y = torch.cat([pool.y[labelled], label[sure >= cfg.threshold]])
    lengths = pool.lengths[idx] if pool.lengths is not None else None
    return Split(pool.x[idx], y, lengths)
