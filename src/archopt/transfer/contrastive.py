"""Self-supervised pretraining, SimCLR-style (Chen et al. 2020): ``train.task: contrastive``.

Each batch is augmented twice with the data kind's own on-device augmentations (or
``train.contrastive.augment``); the model's ``features`` and a projection MLP map both views to
z; NT-Xent (the normalized-temperature cross-entropy) pulls the two views of an example
together and pushes the other 2B - 2 examples away. Labels are never read.

The projection is ``model.projection``, a submodule saved with the run and rebuilt with it
(``attach_projection``, called by ``fit`` and ``models.structure.rebuild``); the result is an
ordinary run whose backbone ``model.init: {from: RUN, parts: backbone}`` takes.

NT-Xent is six lines of torch (``nt_xent``), so pytorch-metric-learning's ``NTXentLoss`` is not
worth a dependency here.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models.base import probe
from archopt.models.blocks import dense_stack
from archopt.registry import TASKS
from archopt.train.tasks import Task

# the data kind's own views: small shifts, noise, masking, scaling (all batched, on device)
DEFAULT_VIEWS = {
    "image": [{"name": "random_shift", "max": 1}, {"name": "cutout", "size": 3},
              {"name": "scale", "min": 0.7, "max": 1.3}, {"name": "gaussian_noise", "std": 0.2}],
    # sequences: masking and scaling made MNIST-1D's views worse than none (benchmarks/RESULTS.md)
    "sequence": [{"name": "random_shift", "max": 2}, {"name": "gaussian_noise", "std": 0.1}],
    "tabular": [{"name": "gaussian_noise", "std": 0.3}, {"name": "scale", "min": 0.8, "max": 1.2}],
}


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss for two views (B, D) of the same B examples."""
    b = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)                     # (2B, D)
    sim = z @ z.T / temperature                                     # (2B, 2B)
    sim = sim.masked_fill(torch.eye(2 * b, dtype=torch.bool, device=z.device), float("-inf"))
    positive = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(sim, positive)


def feature_size(model: nn.Module, shape: DataShape) -> int:
    if not hasattr(model, "features"):
        raise UserError("train.task", f"contrastive pretraining needs a model with features "
                        f"and a head; '{model.spec.get('name')}' has none",
                        "use mlp, cnn, resnet, rnn, transformer or sequential")
    (size,) = probe(model.features, shape.input_shape)
    return size


def attach_projection(model: nn.Module, spec: Any, shape: DataShape) -> None:
    """Add the projection MLP of a contrastive spec to ``model`` (seeded, in place)."""
    if spec.train.task != "contrastive":
        return
    cfg = spec.train.contrastive
    sizes = list(cfg.projection) if cfg is not None else [128, 64]
    with torch.random.fork_rng():
        torch.manual_seed(spec.seed + 17)
        hidden = dense_stack(feature_size(model, shape), sizes[:-1], "relu")
        model.projection = nn.Sequential(*hidden, nn.Linear(sizes[-2] if len(sizes) > 1
                                                            else feature_size(model, shape),
                                                            sizes[-1]))


class ContrastiveTask(Task):
    """Two views, features, projection, NT-Xent; no labels, no metrics."""

    name = "contrastive"
    default_loss = "cross_entropy"
    default_metrics: list[str] = []

    def __init__(self, temperature: float, augment: list[dict[str, Any]] | None) -> None:
        self.temperature, self.augment = temperature, augment
        self.views: Any = None

    def check(self, model: nn.Module, shape: DataShape) -> None:
        """Also builds the views for the data's kind."""
        from archopt.data import build_augment

        if not hasattr(model, "projection"):
            raise UserError("train.task", "contrastive needs the model's projection",
                            "train it with archopt.fit (it attaches one)")
        views = self.augment if self.augment is not None else DEFAULT_VIEWS[shape.kind]
        self.views = build_augment(views, shape.kind, where="train.contrastive.augment")

    def embed_pair(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                   gen: torch.Generator) -> torch.Tensor:
        v1, _ = self.views(x, y, gen)
        v2, _ = self.views(x, y, gen)
        z = model.projection(model.features(torch.cat([v1, v2])))  # (2B, D)
        return nt_xent(z[: len(x)], z[len(x):], self.temperature)

    def train_step(self, t: Any, batch: Any) -> tuple[dict, None, None]:
        from archopt.train.loop import optimizer_step

        with t.autocast():
            loss = self.embed_pair(t.model, batch.x, batch.y, t.aug_gen)
        optimizer_step(t, loss)
        return {"loss": loss.detach()}, None, None

    @torch.no_grad()
    def eval_batch(self, model: nn.Module, batch: Any, loss_fn: nn.Module
                   ) -> tuple[dict[str, torch.Tensor], None, None]:
        gen = torch.Generator().manual_seed(len(batch.x))  # the same views every evaluation
        return {"loss": self.embed_pair(model, batch.x, batch.y, gen)}, None, None


@TASKS.register("contrastive")
def contrastive(cfg: Any, spec: Any = None, **_: Any) -> Task:
    """SimCLR: NT-Xent over two augmented views (labels unused)."""
    c = spec.train.contrastive if spec is not None else None
    return ContrastiveTask(c.temperature if c is not None else 0.5,
                           c.augment if c is not None else None)
