"""Unstructured pruning: the smallest-magnitude weights of every Linear/Conv set to zero (masks),
kept at zero while fine-tuning. Shapes are unchanged, and PyTorch's dense CPU kernels do not skip
zeros, so it saves no time here (the report says so)."""

from __future__ import annotations

import torch
from torch import nn

PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)  # layers pruning works on (weights and channels)


@torch.no_grad()
def magnitude_masks(model: nn.Module, sparsity: float, ignored: list) -> int:
    """Zero the ``sparsity`` share of smallest-magnitude weights of each Linear/Conv (in place);
    returns the number of weights zeroed. Shapes are unchanged."""
    skip = {id(m) for m in ignored}
    zeroed = 0
    for mod in model.modules():
        if isinstance(mod, PRUNABLE) and id(mod) not in skip:
            w = mod.weight
            k = int(round(sparsity * w.numel()))
            if k == 0:
                continue
            threshold = w.abs().flatten().kthvalue(k).values
            mask = w.abs() > threshold
            w.mul_(mask)
            zeroed += int((~mask).sum())
    return zeroed


def zeros_mask(model: nn.Module) -> dict[str, torch.Tensor]:
    """Where the pruned weights are zero (kept at zero during fine-tuning)."""
    return {n: (p == 0) for n, p in model.named_parameters()
            if p.ndim >= 2 and bool((p == 0).any())}


def keep_zeros(model: nn.Module) -> list:
    """Gradient hooks that keep pruned (zero) weights at zero while fine-tuning."""
    masks = zeros_mask(model)
    params = dict(model.named_parameters())
    return [params[n].register_hook(lambda g, keep=~m: g * keep) for n, m in masks.items()]
