"""Normalization layers by name, for vectors (B, F), 1-D maps (B, C, T) and 2-D maps (B, C, H, W).

``layer`` on feature maps is ``GroupNorm(1, C)``: it normalizes each example over channels and
positions, the usual LayerNorm of convolutional nets, and works for any spatial size.
``group`` uses the largest group count <= 8 that divides the channels.
"""

from __future__ import annotations

from typing import Literal

from torch import nn

NormName = Literal["none", "batch", "layer", "group"]


def group_count(channels: int, most: int = 8) -> int:
    """The largest number of groups <= ``most`` that divides ``channels``."""
    return next(g for g in range(min(most, channels), 0, -1) if channels % g == 0)


def make_norm(name: str, channels: int, dims: int) -> nn.Module:
    """A normalization layer over ``channels``.

    Args:
        name: none | batch | layer | group.
        channels: features (vectors) or channels (feature maps).
        dims: 0 for vectors (B, F), 1 for (B, C, T), 2 for (B, C, H, W).
    """
    if name == "none":
        return nn.Identity()
    if name == "batch":
        return nn.BatchNorm2d(channels) if dims == 2 else nn.BatchNorm1d(channels)
    if name == "layer":
        return nn.LayerNorm(channels) if dims == 0 else nn.GroupNorm(1, channels)
    if name == "group":
        return nn.GroupNorm(group_count(channels), channels)
    raise ValueError(f"unknown norm '{name}'")
