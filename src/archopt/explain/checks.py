"""The checks that come with every explanation.

- faithfulness, the deletion curve (Petsiuk et al. 2018): the feature groups are replaced by
  the baseline, most-attributed first, and the explained output (a classifier's probability of
  the target class) is followed as they go; the same for random orders. The area under the curve
  (mean over the fractions removed) is lower when the attribution found what the model uses.
- the randomization sanity check (Adebayo et al. 2018): the model's layers are re-initialized
  one by one from the output layer down, each method runs again, and the Spearman rank
  correlation of |attribution| with the trained model's maps is recorded. A method whose maps
  barely change when the weights are random does not explain the model: it is flagged.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn

from archopt.explain import groups

DELETION_POINTS = 21          # fractions 0, 0.05, ..., 1 of the groups removed
RANDOM_ORDERS = 4             # random orders averaged for the reference curve
SANITY_FLAG = 0.5             # rank correlation above this with random weights: flagged


def group_scores(attr: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(B, G): the attribution summed within each feature group."""
    flat = attr.reshape(len(attr), -1)  # (B, D)
    ids = mask.reshape(-1).expand(len(attr), -1)  # (B, D)
    out = torch.zeros(len(attr), int(mask.max()) + 1, dtype=flat.dtype)
    return out.scatter_add_(1, ids, flat)


def live_groups(mask: torch.Tensor, lengths: torch.Tensor | None, kind: str,
                batch: int) -> torch.Tensor:
    """(B, G) bool: the groups that hold real input (sequences: within the true length)."""
    G = int(mask.max()) + 1
    if lengths is None or kind != "sequence":
        return torch.ones(batch, G, dtype=torch.bool)
    steps = torch.arange(mask.shape[1])[None, :] < lengths[:, None]  # (B, T)
    elem = steps.unsqueeze(-1).expand(-1, -1, mask.shape[2]).reshape(batch, -1).float()
    ids = mask.reshape(1, -1).expand(batch, -1)  # (B, T * F)
    return torch.zeros(batch, G).scatter_reduce(1, ids, elem, "amax").bool()


def _curve(model: Any, x: torch.Tensor, target: torch.Tensor, lengths: torch.Tensor | None,
           baseline: torch.Tensor, mask: torch.Tensor, order: torch.Tensor,
           live: torch.Tensor) -> np.ndarray:
    """(B, DELETION_POINTS): the score as the groups are removed in ``order`` (B, G)."""
    B, G = order.shape
    counts = live.sum(1)  # (B,) groups that can be removed
    fractions = torch.linspace(0, 1, DELETION_POINTS)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(G).expand(B, -1))  # rank of each group
    inputs = []
    for f in fractions:
        k = torch.round(f * counts).long()  # (B,) groups removed at this point
        removed = ranks < k[:, None]  # (B, G)
        elem = removed.gather(1, mask.reshape(1, -1).expand(B, -1)).view_as(x)  # (B, *shape)
        inputs.append(torch.where(elem, baseline.expand_as(x), x))
    stacked = torch.stack(inputs, 1).reshape(B * DELETION_POINTS, *x.shape[1:])
    rep = lambda t: t.repeat_interleave(DELETION_POINTS)  # noqa: E731
    scores = model.score(stacked, rep(target), None if lengths is None else rep(lengths))
    return scores.view(B, DELETION_POINTS).numpy()


def _rounded(curve: np.ndarray) -> list[float]:
    return np.asarray(curve, dtype=float).round(5).tolist()


def deletion(model: Any, kind: str, x: torch.Tensor, target: torch.Tensor,
             lengths: torch.Tensor | None, baseline: torch.Tensor,
             attributions: dict[str, torch.Tensor], seed: int = 0) -> dict[str, Any]:
    """Deletion curves of every method and of random orders; areas, ranking, per method gain."""
    mask = groups.feature_mask(kind, tuple(x.shape[1:]))
    live = live_groups(mask, lengths, kind, len(x))
    G = live.shape[1]
    gen = torch.Generator().manual_seed(seed)
    random_curves = []
    for _ in range(RANDOM_ORDERS):
        noise = torch.rand(len(x), G, generator=gen).masked_fill(~live, -1.0)
        random_curves.append(_curve(model, x, target, lengths, baseline, mask,
                                    noise.argsort(1, descending=True), live))
    random_curve = np.mean(random_curves, axis=0).mean(0)  # (P,)
    out: dict[str, Any] = {
        "fractions": np.linspace(0, 1, DELETION_POINTS).round(3).tolist(),
        "random": {"curve": _rounded(random_curve),
                   "area": float(random_curve.mean())},
        "methods": {}}
    for name, attr in attributions.items():
        score = group_scores(attr, mask).masked_fill(~live, -float("inf"))
        curve = _curve(model, x, target, lengths, baseline, mask,
                       score.argsort(1, descending=True), live).mean(0)
        area = float(curve.mean())
        out["methods"][name] = {"curve": _rounded(curve), "area": area,
                                "better_than_random": area < out["random"]["area"]}
    out["ranking"] = sorted(out["methods"], key=lambda n: out["methods"][n]["area"])
    return out


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean over examples of the Spearman rank correlation of |a| and |b| (B, ...)."""
    from scipy.stats import spearmanr

    vals = []
    for u, v in zip(a.reshape(len(a), -1).abs().numpy(), b.reshape(len(b), -1).abs().numpy()):
        if np.ptp(u) == 0 or np.ptp(v) == 0:
            vals.append(0.0)  # a constant map carries no ranking
            continue
        vals.append(float(spearmanr(u, v).statistic))
    return float(np.mean(vals)) if vals else 0.0


def weighted_layers(model: nn.Module) -> list[str]:
    """Names of the leaf modules with weights, from the output layer down."""
    names = [n for n, m in model.named_modules()
             if not any(True for _ in m.children())
             and any(p.requires_grad for p in m.parameters(recurse=False))]
    return names[::-1]


def cascade_stages(layers: list[str], stages: int = 3) -> list[int]:
    """How many layers (from the top) are random at each stage: the output layer, then more,
    until all of them."""
    n = len(layers)
    if n <= stages:
        return list(range(1, n + 1))
    return sorted({1, *(round(n * (i + 1) / stages) for i in range(1, stages))})


def randomized(model: Any, layers: list[str], count: int, seed: int) -> Any:
    """A copy of the explained model whose top ``count`` weighted layers (names inside
    ``model.model``) are re-initialized."""
    rand = copy.deepcopy(model)
    modules = dict(rand.model.named_modules())
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for name in layers[:count]:
            m = modules[name]
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            else:
                for p in m.parameters(recurse=False):
                    nn.init.normal_(p, std=0.1)
    return rand.eval()
