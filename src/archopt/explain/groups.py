"""Feature groups per kind of data: what Kernel SHAP and LIME switch on and off, what occlusion
slides over, and what a deletion curve removes step by step.

  image     a grid of square patches (about 7 x 7), every channel of a patch together
  sequence  segments of consecutive time steps (about 16), each channel on its own
  tabular   every feature (column) on its own
"""

from __future__ import annotations

import math

import torch

IMAGE_GRID = 7      # patches per side: 49 groups, as Kernel SHAP is usually run on images
SEQUENCE_SEGMENTS = 16


def patch_size(kind: str, input_shape: tuple[int, ...]) -> int:
    """The side of an image patch, or the length of a time segment (1 for tabular)."""
    if kind == "image":
        return max(1, math.ceil(max(input_shape[1:]) / IMAGE_GRID))
    if kind == "sequence":
        return max(1, math.ceil(input_shape[0] / SEQUENCE_SEGMENTS))
    return 1


def feature_mask(kind: str, input_shape: tuple[int, ...]) -> torch.Tensor:
    """(1, *input_shape) int64: the group of every input element, numbered from 0."""
    p = patch_size(kind, input_shape)
    if kind == "image":
        C, H, W = input_shape
        rows = torch.arange(H) // p  # (H,)
        cols = torch.arange(W) // p  # (W,)
        per_row = math.ceil(W / p)
        mask = (rows[:, None] * per_row + cols[None, :]).expand(C, H, W)  # (C, H, W)
    elif kind == "sequence":
        T, F = input_shape
        segment = torch.arange(T) // p  # (T,)
        mask = segment[:, None] * F + torch.arange(F)[None, :]  # (T, F)
    else:
        mask = torch.arange(input_shape[0])  # (F,)
    return mask.reshape(1, *input_shape).contiguous()


def occlusion_window(kind: str, input_shape: tuple[int, ...]) -> tuple[tuple[int, ...],
                                                                        tuple[int, ...]]:
    """(sliding window, strides) for Captum's Occlusion: a patch over every channel, a time
    segment of one channel, or one feature; windows overlap by half."""
    p = patch_size(kind, input_shape)
    if kind == "image":
        s = max(1, p // 2)
        return (input_shape[0], p, p), (input_shape[0], s, s)
    if kind == "sequence":
        return (p, 1), (max(1, p // 2), 1)
    return (1,), (1,)
