"""Prototypical networks (Snell et al. 2017), trained episodically: ``train.task: prototypical``.

Every batch of the ordinary seeded loader becomes one episode: ``ways`` of the classes that have
at least two examples in it are drawn, their first ``shots`` examples (fewer in a batch too
small for them, at least one query stays) are the support, the next (up to ``queries``) the
queries. A batch with fewer than two such classes (a tiny last batch) trains nothing.
The model's ``features`` embed them; a query's logits
are minus its squared Euclidean distances to the class means of the support (the prototypes),
and the loss is their cross-entropy. The draws come from the trainer's generator, so a killed
run resumes to the same result. Evaluation is ``archopt.transfer.fewshot``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.registry import TASKS
from archopt.train.tasks import Task


def prototype_logits(support: torch.Tensor, support_y: torch.Tensor, query: torch.Tensor,
                     ways: int) -> torch.Tensor:
    """(Q, ways) minus squared distances of queries (Q, D) to class means of the support."""
    protos = torch.stack([support[support_y == c].mean(0) for c in range(ways)])  # (N, D)
    return -torch.cdist(query, protos).pow(2)


def episode(y: torch.Tensor, ways: int, shots: int, queries: int, gen: torch.Generator
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None:
    """(support idx, support labels 0..n-1, query idx, query labels) from a batch's labels."""
    yc = y.cpu()
    classes = [c for c in torch.unique(yc).tolist() if int((yc == c).sum()) >= 2]
    if len(classes) < 2:
        return None
    chosen = [classes[i] for i in torch.randperm(len(classes), generator=gen)[:ways].tolist()]
    s_idx, s_y, q_idx, q_y = [], [], [], []
    for new, c in enumerate(chosen):
        members = torch.nonzero(yc == c).flatten()
        k = min(shots, len(members) - 1)
        s_idx.append(members[:k])
        q = members[k: k + queries]
        q_idx.append(q)
        s_y.append(torch.full((k,), new))
        q_y.append(torch.full((len(q),), new))
    return torch.cat(s_idx), torch.cat(s_y), torch.cat(q_idx), torch.cat(q_y)


class PrototypicalTask(Task):
    """Episodes from batches; minus squared distances to prototypes; cross-entropy."""

    name = "prototypical"
    default_loss = "cross_entropy"
    default_metrics: list[str] = []

    def __init__(self, ways: int, shots: int, queries: int) -> None:
        self.ways, self.shots, self.queries = ways, shots, queries

    def check(self, model: nn.Module, shape: DataShape) -> None:
        if not hasattr(model, "features"):
            raise UserError("train.task", "prototypical needs a model with features and a "
                            "head", "use mlp, cnn, resnet, rnn, transformer or sequential")
        if shape.task != "classification":
            raise UserError("train.task", "prototypical needs classification data",
                            "use a dataset with classes")

    def episode_loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        ep = episode(y, self.ways, self.shots, self.queries, gen)
        if ep is None:  # no episode in this batch: a zero loss that moves nothing
            zero = sum(p.sum() for p in model.features.parameters()) * 0.0
            return zero, zero.detach()
        s, s_y, q, q_y = (t.to(x.device) for t in ep)
        emb = model.features(torch.cat([x[s], x[q]]))                 # (S + Q, D)
        logits = prototype_logits(emb[: len(s)], s_y, emb[len(s):], int(s_y.max()) + 1)
        loss = nn.functional.cross_entropy(logits, q_y)
        return loss, (logits.argmax(1) == q_y).float().mean()

    def train_step(self, t: Any, batch: Any) -> tuple[dict, None, None]:
        from archopt.train.loop import optimizer_step

        x = batch.x
        if t.augment is not None:
            x, _ = t.augment(x, batch.y, t.aug_gen)
        with t.autocast():
            loss, acc = self.episode_loss(t.model, x, batch.y, t.aug_gen)
        optimizer_step(t, loss)
        return {"loss": loss.detach(), "episode_accuracy": acc.detach()}, None, None

    @torch.no_grad()
    def eval_batch(self, model: nn.Module, batch: Any, loss_fn: nn.Module
                   ) -> tuple[dict[str, torch.Tensor], None, None]:
        gen = torch.Generator().manual_seed(len(batch.x))  # the same episodes every evaluation
        loss, acc = self.episode_loss(model, batch.x, batch.y, gen)
        return {"loss": loss, "episode_accuracy": acc}, None, None


@TASKS.register("prototypical")
def prototypical(cfg: Any, spec: Any = None, **_: Any) -> Task:
    """Prototypical networks: episodes, distances to class prototypes."""
    e = spec.train.episodes if spec is not None else None
    return PrototypicalTask(e.ways if e else 5, e.shots if e else 5, e.queries if e else 5)
