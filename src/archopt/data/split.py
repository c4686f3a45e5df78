"""Seeded (stratified) splits and normalization fitted on the training split only."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from archopt.data.dataset import Split


def split_indices(
    n: int, fraction: float, gen: torch.Generator, labels: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (kept, held_out) with ``round(fraction * n)`` held out, both sorted.

    With class ``labels`` the split is stratified: each class gives its share (at least one
    example from every class that has two or more). All draws come from ``gen``.
    """
    if fraction <= 0 or n < 2:
        return torch.arange(n), torch.empty(0, dtype=torch.int64)
    held: list[torch.Tensor] = []
    if labels is None:
        perm = torch.randperm(n, generator=gen)
        held.append(perm[: max(1, round(fraction * n))])
    else:
        classes = torch.unique(labels)  # sorted: the same draws for the same data
        members = [torch.nonzero(labels == c).flatten() for c in classes]
        quotas = _quotas([len(m) for m in members], fraction, round(fraction * n))
        for m, k in zip(members, quotas):
            held.append(m[torch.randperm(len(m), generator=gen)][:k])
    out = torch.cat(held) if held else torch.empty(0, dtype=torch.int64)
    if len(out) == 0:  # tiny data: hold out one example anyway
        out = torch.randperm(n, generator=gen)[:1]
    mask = torch.ones(n, dtype=torch.bool)
    mask[out] = False
    return torch.nonzero(mask).flatten(), torch.sort(out).values


def _quotas(sizes: list[int], fraction: float, total: int) -> list[int]:
    """Held-out count per class: proportional, summing to ``total`` (largest remainders), at
    least one from every class of two or more, and never a whole class."""
    exact = [fraction * s for s in sizes]
    k = [int(e) for e in exact]
    by_remainder = sorted(range(len(sizes)), key=lambda i: -(exact[i] - k[i]))
    for i in by_remainder[: max(0, total - sum(k))]:
        k[i] += 1
    return [min(max(q, 1 if s > 1 else 0), max(s - 1, 0)) for q, s in zip(k, sizes)]


def take(split: Split, idx: torch.Tensor) -> Split:
    """The rows ``idx`` of a split."""
    lengths = split.lengths[idx] if split.lengths is not None else None
    return Split(split.x[idx], split.y[idx], lengths)


def _axes(x: torch.Tensor) -> tuple[int, list[int]]:
    """(feature axis, reduced axes): channels (dim 1) for images, the last dim otherwise."""
    feat = 1 if x.ndim == 4 else x.ndim - 1
    return feat, [d for d in range(x.ndim) if d != feat]


def time_mask(x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor | None:
    """(N, T, 1) float mask of the real (not padded) steps of sequences, or None."""
    if lengths is None or x.ndim != 3:
        return None
    steps = torch.arange(x.shape[1], device=x.device)
    return (steps[None, :] < lengths.to(x.device)[:, None]).unsqueeze(-1).to(x.dtype)


def fit_normalization(split: Split) -> dict[str, Any]:
    """Per-channel (images) or per-feature (sequences, tabular) mean and std of a split.

    Padded steps of variable-length sequences are left out. A constant feature gets std 1.
    """
    x = split.x.double()
    feat, axes = _axes(x)
    mask = time_mask(x, split.lengths)
    if mask is None:
        mean = x.mean(dim=axes)
        var = x.var(dim=axes, unbiased=False)
    else:
        count = mask.sum(dim=axes).clamp_min(1)
        mean = (x * mask).sum(dim=axes) / count
        shape = [1] * x.ndim
        shape[feat] = -1
        var = (((x - mean.view(shape)) ** 2) * mask).sum(dim=axes) / count
    std = var.sqrt()
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}


def apply_normalization(x: Any, normalization: dict[str, Any],
                        lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Standardize a batch ``x`` with saved statistics ``{"mean": [...], "std": [...]}``.

    ``x`` is batched: (N, C, H, W) normalized per channel, (N, T, F) and (N, F) per feature
    (numpy arrays are accepted). Padded steps (past ``lengths``) stay zero. An empty
    ``normalization`` returns ``x`` unchanged (as a float tensor).
    """
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    x = x.float()
    if not normalization:
        return x
    feat, _ = _axes(x)
    mean = torch.tensor(normalization["mean"], dtype=x.dtype, device=x.device)
    std = torch.tensor(normalization["std"], dtype=x.dtype, device=x.device)
    if x.shape[feat] != len(mean):
        raise ValueError(f"normalization has {len(mean)} channels/features but x has "
                         f"{x.shape[feat]} on axis {feat}")
    shape = [1] * x.ndim
    shape[feat] = -1
    out = (x - mean.view(shape)) / std.view(shape)
    mask = time_mask(out, lengths)
    return out * mask if mask is not None else out
