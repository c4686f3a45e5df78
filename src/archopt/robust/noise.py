"""Noise and corruptions at a grid of strengths, in raw input units, for each kind of data.

  every kind   gaussian            std in raw units (default grid: fractions of the data's span)
  image        blur                Gaussian blur, sigma in pixels
               contrast            pulled toward each image's mean: x' = m + (1 - s)(x - m)
               salt_and_pepper     a fraction of the pixels set to the range's min or max
  sequence     jitter              each step read from a random step up to s steps away
               time_shift          every sequence shifted by s steps (zeros shifted in)
               dropped_steps       a fraction of the steps lost (the previous value held)
  tabular      feature_noise       Gaussian noise of s times each feature's spread

Every draw comes from the generator passed in (CPU), so the same seed gives the same numbers.
Results are clamped to the data's valid range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from archopt.robust.domain import Domain


@dataclass(frozen=True)
class Context:
    """What a corruption may use: the valid range and per-feature spreads of the raw data."""

    domain: Domain
    feature_std: torch.Tensor  # broadcastable to a batch (per channel or per feature)
    gen: torch.Generator


def gaussian(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:
    return x + s * torch.randn(x.shape, generator=c.gen).to(x.device)


def feature_noise(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:
    return x + s * c.feature_std.to(x.device) * torch.randn(x.shape, generator=c.gen).to(x.device)


def blur(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:
    if s <= 0:
        return x
    r = max(1, int(round(3 * s)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=x.dtype) / s) ** 2)
    k = (k / k.sum()).to(x.device)
    ch = x.shape[1]
    out = F.pad(x, (r, r, r, r), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1).repeat(ch, 1, 1, 1), groups=ch)  # along W
    return F.conv2d(out, k.view(1, 1, -1, 1).repeat(ch, 1, 1, 1), groups=ch)  # along H


def contrast(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:
    if s <= 0:
        return x
    m = x.mean(dim=tuple(range(1, x.ndim)), keepdim=True)
    return m + (1 - s) * (x - m)


def salt_and_pepper(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:
    lo = c.domain.lo if c.domain.lo is not None else float(x.min())
    hi = c.domain.hi if c.domain.hi is not None else float(x.max())
    u = torch.rand(x.shape, generator=c.gen).to(x.device)
    out = torch.where(u < s / 2, torch.full_like(x, lo), x)
    return torch.where((u >= s / 2) & (u < s), torch.full_like(x, hi), out)


def jitter(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:  # (B, T, F)
    k = int(round(s))
    if k <= 0:
        return x
    t = x.shape[1]
    off = torch.randint(-k, k + 1, (x.shape[0], t), generator=c.gen).to(x.device)
    idx = (torch.arange(t, device=x.device)[None, :] + off).clamp(0, t - 1)
    return torch.gather(x, 1, idx.unsqueeze(-1).expand_as(x))


def time_shift(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:  # (B, T, F)
    k = int(round(s))
    if k <= 0:
        return x
    return torch.cat([torch.zeros_like(x[:, :k]), x[:, :-k]], dim=1)


def dropped_steps(x: torch.Tensor, s: float, c: Context) -> torch.Tensor:  # (B, T, F)
    if s <= 0:
        return x
    b, t = x.shape[:2]
    drop = torch.rand((b, t), generator=c.gen).to(x.device) < s
    drop[:, 0] = False
    src = torch.arange(t, device=x.device).expand(b, t).clone()
    src[drop] = 0
    src = torch.cummax(src, dim=1).values  # the last step that was kept
    return torch.gather(x, 1, src.unsqueeze(-1).expand_as(x))


Corruption = Callable[[torch.Tensor, float, Context], torch.Tensor]


@dataclass(frozen=True)
class Entry:
    fn: Corruption
    kinds: tuple[str, ...]
    grid: tuple[float, ...]   # default strengths; relative ones are multiplied by the span
    unit: str
    relative: bool = False    # strengths are fractions of the data's span


CORRUPTIONS: dict[str, Entry] = {
    "gaussian": Entry(gaussian, ("image", "sequence", "tabular"),
                      (0.0, 0.05, 0.1, 0.2, 0.3, 0.5), "std, raw units", relative=True),
    "blur": Entry(blur, ("image",), (0.0, 0.5, 1.0, 1.5, 2.0), "sigma, pixels"),
    "contrast": Entry(contrast, ("image",), (0.0, 0.25, 0.5, 0.75, 0.9), "contrast lost"),
    "salt_and_pepper": Entry(salt_and_pepper, ("image",), (0.0, 0.02, 0.05, 0.1, 0.2),
                             "share of pixels"),
    "jitter": Entry(jitter, ("sequence",), (0.0, 1.0, 2.0, 3.0, 4.0), "steps"),
    "time_shift": Entry(time_shift, ("sequence",), (0.0, 2.0, 4.0, 8.0, 12.0), "steps"),
    "dropped_steps": Entry(dropped_steps, ("sequence",), (0.0, 0.05, 0.1, 0.2, 0.3),
                           "share of steps"),
    "feature_noise": Entry(feature_noise, ("tabular",), (0.0, 0.1, 0.25, 0.5, 1.0),
                           "x each feature's std"),
}


def for_kind(kind: str) -> list[str]:
    """The corruptions that apply to ``kind`` data, in table order."""
    return [n for n, e in CORRUPTIONS.items() if kind in e.kinds]


def corrupt(name: str, x: torch.Tensor, s: float, c: Context,
            mask: torch.Tensor | None = None) -> torch.Tensor:
    """``x`` corrupted by ``name`` at strength ``s`` (raw units), inside the valid range."""
    out = CORRUPTIONS[name].fn(x, s, c)
    if mask is not None:
        out = x + (out - x) * mask
    return c.domain.clamp(out)
