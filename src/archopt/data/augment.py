"""Batched data augmentation on the tensors' device, for the training split only.

``build_augment(specs, kind)`` turns the spec's ``data.augment`` list into one function
``augment(x, y, gen) -> (x, y)``. Every random draw comes from ``gen``, a CPU
``torch.Generator`` that the trainer owns and checkpoints: numbers are drawn on the CPU and moved
to ``x.device``, so the same generator state gives the same augmentation on any device.

``mixup`` turns class indices into soft targets: y becomes float (B, C) probabilities; regression
targets are mixed as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from archopt.errors import UserError
from archopt.registry import AUGMENTATIONS

Pair = tuple[torch.Tensor, torch.Tensor]
AugmentFn = Callable[[torch.Tensor, torch.Tensor, torch.Generator], Pair]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _rand(shape: Sequence[int], gen: torch.Generator, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) numbers drawn on the CPU from ``gen``, then moved to ``device``."""
    return torch.rand(tuple(shape), generator=gen).to(device)


def _randint(low: int, high: int, shape: Sequence[int], gen: torch.Generator,
             device: torch.device) -> torch.Tensor:
    """Integers in [low, high] (inclusive) drawn on the CPU from ``gen``."""
    return torch.randint(low, high + 1, tuple(shape), generator=gen).to(device)


def _shift_axis(x: torch.Tensor, shift: torch.Tensor, axis: int) -> torch.Tensor:
    """Shift every example along ``axis`` by its own amount, filling with zeros (pad + crop)."""
    size = x.shape[axis]
    pos = torch.arange(size, device=x.device)
    src = pos[None, :] - shift[:, None]                                  # (B, size)
    valid = (src >= 0) & (src < size)
    view = [x.shape[0]] + [1] * (x.ndim - 1)
    view[axis] = size
    index = src.clamp(0, size - 1).view(view).expand_as(x)
    return torch.gather(x, axis, index) * valid.view(view).to(x.dtype)


def _shift(x: torch.Tensor, max_shift: int, gen: torch.Generator, kind: str) -> torch.Tensor:
    """Random shifts in [-max, max]: along T for sequences (B, T, F), along H and W for images."""
    b = x.shape[0]
    if kind == "sequence":
        return _shift_axis(x, _randint(-max_shift, max_shift, (b,), gen, x.device), 1)
    shifts = _randint(-max_shift, max_shift, (2, b), gen, x.device)
    return _shift_axis(_shift_axis(x, shifts[0], 2), shifts[1], 3)


def _window_mask(b: int, size: int, width: torch.Tensor, gen: torch.Generator,
                 device: torch.device) -> torch.Tensor:
    """(B, size) bool: True inside a random window of ``width[i]`` steps in row i."""
    start = (_rand((b,), gen, device) * (size - width + 1).clamp_min(1)).long()
    pos = torch.arange(size, device=device)[None, :]
    return (pos >= start[:, None]) & (pos < (start + width)[:, None])


def _kinds(name: str, kind: str, allowed: tuple[str, ...], at: str) -> None:
    if kind not in allowed:
        raise UserError(at, f"augmentation '{name}' works on {' or '.join(allowed)} data, "
                        f"not {kind}", "remove it from data.augment")


class GaussianNoiseConfig(_Config):
    std: float = Field(0.05, ge=0.0)   # standard deviation of the added noise


@AUGMENTATIONS.register("gaussian_noise", config=GaussianNoiseConfig)
def gaussian_noise(cfg: GaussianNoiseConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Add N(0, std^2) noise to every input value."""
    def fn(x, y, gen):
        return x + cfg.std * torch.randn(tuple(x.shape), generator=gen).to(x.device), y
    return fn


class RandomShiftConfig(_Config):
    max: int = Field(3, ge=0)          # largest shift in steps (sequences) or pixels (images)


@AUGMENTATIONS.register("random_shift", config=RandomShiftConfig)
def random_shift(cfg: RandomShiftConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Shift each sequence along T, or each image along H and W, by up to ``max``; zero fill."""
    _kinds("random_shift", kind, ("sequence", "image"), at)
    return lambda x, y, gen: (_shift(x, cfg.max, gen, kind), y)


class RandomCropConfig(_Config):
    padding: int = Field(4, ge=0)      # zero padding on each side before the random crop


@AUGMENTATIONS.register("random_crop", config=RandomCropConfig)
def random_crop(cfg: RandomCropConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Pad images by ``padding`` and crop back to H x W at a random place (CIFAR-style)."""
    _kinds("random_crop", kind, ("image",), at)
    # padding p then a crop at offset o in [0, 2p] is a shift by p - o in [-p, p], zero filled
    return lambda x, y, gen: (_shift(x, cfg.padding, gen, kind), y)


class HorizontalFlipConfig(_Config):
    p: float = Field(0.5, ge=0.0, le=1.0)  # probability of flipping each image


@AUGMENTATIONS.register("horizontal_flip", config=HorizontalFlipConfig)
def horizontal_flip(cfg: HorizontalFlipConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Mirror each image left-right with probability ``p``."""
    _kinds("horizontal_flip", kind, ("image",), at)

    def fn(x, y, gen):
        flip = _rand((x.shape[0],), gen, x.device) < cfg.p            # (B,)
        return torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x), y
    return fn


class CutoutConfig(_Config):
    size: int = Field(4, ge=1)         # side of the zeroed square (images) or window (sequences)


@AUGMENTATIONS.register("cutout", config=CutoutConfig)
def cutout(cfg: CutoutConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Zero one random size x size square per image (a window of ``size`` steps per sequence)."""
    _kinds("cutout", kind, ("image", "sequence"), at)

    def fn(x, y, gen):
        b = x.shape[0]
        if kind == "sequence":
            w = torch.full((b,), min(cfg.size, x.shape[1]), device=x.device)
            keep = ~_window_mask(b, x.shape[1], w, gen, x.device)     # (B, T)
            return x * keep[:, :, None].to(x.dtype), y
        h, wd = x.shape[2], x.shape[3]
        rows = _window_mask(b, h, torch.full((b,), min(cfg.size, h), device=x.device), gen,
                            x.device)                                 # (B, H)
        cols = _window_mask(b, wd, torch.full((b,), min(cfg.size, wd), device=x.device), gen,
                            x.device)                                 # (B, W)
        hole = rows[:, :, None] & cols[:, None, :]                    # (B, H, W)
        return x * (~hole)[:, None].to(x.dtype), y
    return fn


class TimeMaskConfig(_Config):
    max_width: int = Field(5, ge=1)    # the widest zeroed window, in steps


@AUGMENTATIONS.register("time_mask", config=TimeMaskConfig)
def time_mask(cfg: TimeMaskConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Zero a window of 1..max_width consecutive steps in each sequence (SpecAugment-style)."""
    _kinds("time_mask", kind, ("sequence",), at)

    def fn(x, y, gen):
        b, t = x.shape[0], x.shape[1]
        width = _randint(1, min(cfg.max_width, t), (b,), gen, x.device)
        keep = ~_window_mask(b, t, width, gen, x.device)              # (B, T)
        return x * keep[:, :, None].to(x.dtype), y
    return fn


class ScaleConfig(_Config):
    min: float = 0.9                   # smallest factor
    max: float = 1.1                   # largest factor

    @model_validator(mode="after")
    def _order(self) -> ScaleConfig:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


@AUGMENTATIONS.register("scale", config=ScaleConfig)
def scale(cfg: ScaleConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Multiply each example by a random factor between ``min`` and ``max``."""
    def fn(x, y, gen):
        f = cfg.min + (cfg.max - cfg.min) * _rand((x.shape[0],), gen, x.device)
        return x * f.view(-1, *([1] * (x.ndim - 1))), y
    return fn


class RandomAffineConfig(_Config):
    degrees: float = Field(10.0, ge=0.0, le=180.0)  # rotation in [-degrees, degrees]
    translate: float = Field(0.1, ge=0.0, le=1.0)   # shift by up to this fraction of H and W
    scale_min: float = Field(0.9, gt=0.0)           # zoom factor range (1: none)
    scale_max: float = Field(1.1, gt=0.0)
    shear: float = Field(0.0, ge=0.0, le=60.0)      # horizontal shear in [-shear, shear] degrees

    @model_validator(mode="after")
    def _order(self) -> RandomAffineConfig:
        if self.scale_min > self.scale_max:
            raise ValueError("scale_min must not exceed scale_max")
        return self


@AUGMENTATIONS.register("random_affine", config=RandomAffineConfig)
def random_affine(cfg: RandomAffineConfig, kind: str, at: str, **_: Any) -> AugmentFn:
    """Rotate, zoom, shear and shift each image by its own random amounts (bilinear, zero
    fill), like torchvision's ``RandomAffine``, batched with ``affine_grid``/``grid_sample``."""
    _kinds("random_affine", kind, ("image",), at)

    def fn(x, y, gen):
        b = x.shape[0]
        u = _rand((5, b), gen, torch.device("cpu")) * 2 - 1             # (5, B) in [-1, 1)
        angle = torch.deg2rad(u[0] * cfg.degrees)
        shear = torch.deg2rad(u[1] * cfg.shear)
        zoom = cfg.scale_min + (cfg.scale_max - cfg.scale_min) * (u[2] + 1) / 2
        # output -> input sampling grid (normalized coordinates): the inverse of the transform
        cos, sin, tan = torch.cos(angle), torch.sin(angle), torch.tan(shear)
        theta = torch.zeros(b, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1] = cos / zoom, (-sin + cos * tan) / zoom
        theta[:, 1, 0], theta[:, 1, 1] = sin / zoom, (cos + sin * tan) / zoom
        theta[:, :, 2] = torch.stack([u[3], u[4]], 1) * 2 * cfg.translate
        grid = torch.nn.functional.affine_grid(theta.to(x.device, x.dtype), list(x.shape),
                                               align_corners=False)
        return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                               align_corners=False), y
    return fn


class MixupConfig(_Config):
    alpha: float = Field(0.2, gt=0.0)  # Beta(alpha, alpha) mixing weight; small: mild mixing


@AUGMENTATIONS.register("mixup", config=MixupConfig)
def mixup(cfg: MixupConfig, kind: str, at: str, num_classes: int | None = None,
          **_: Any) -> AugmentFn:
    """Mix each example with another of the batch (Zhang et al. 2018), one weight per batch.

    Class indices y (B,) become soft targets: float (B, C) probabilities, C = ``num_classes``
    (else the largest label in the batch + 1). Float targets (regression, or already soft) are
    mixed as they are.
    """
    def fn(x, y, gen):
        b = x.shape[0]
        # Beta draws are not offered by torch.Generator: seed numpy from it, so gen decides all
        seed = int(torch.randint(0, 2**62, (1,), generator=gen))
        lam = float(np.random.default_rng(seed).beta(cfg.alpha, cfg.alpha))
        perm = torch.randperm(b, generator=gen).to(x.device)
        if not y.is_floating_point():
            c = num_classes or int(y.max()) + 1
            y = torch.nn.functional.one_hot(y, c).to(x.dtype)         # (B, C)
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]
    return fn


def build_augment(specs: Sequence[dict[str, Any]] | None, kind: str, *,
                  num_classes: int | None = None, where: str = "data.augment"
                  ) -> AugmentFn | None:
    """Compose the ``data.augment`` list into one function, or None when it is empty.

    Args:
        specs: ``[{name: gaussian_noise, std: 0.05}, ...]``, applied in order.
        kind: the data kind (image, sequence, tabular), or a ``DataShape``.
        num_classes: the classes, for mixup's soft targets (taken from a DataShape if given).

    Returns:
        ``augment(x, y, gen) -> (x, y)``: batched, on ``x.device``, every draw from the CPU
        generator ``gen``. With mixup, classification y comes back as float (B, C).
    """
    if hasattr(kind, "kind"):  # a DataShape
        if num_classes is None and getattr(kind, "task", None) == "classification":
            num_classes = kind.num_outputs
        kind = kind.kind
    fns: list[AugmentFn] = []
    for i, section in enumerate(specs or []):
        fns.append(AUGMENTATIONS.build(section, f"{where}.{i}", kind=kind,
                                       at=f"{where}.{i}", num_classes=num_classes))
    if not fns:
        return None

    def augment(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
        for fn in fns:
            x, y = fn(x, y, gen)
        return x, y
    return augment
