"""Small digits classifiers on raw pixels (0..16) for the robustness tests: an honest linear
model, one with batch norm, and one behind a hard threshold (no gradient: masks it)."""

from __future__ import annotations

import functools

import torch
from torch import nn


@functools.cache
def digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_train, y_train, x_test, y_test), raw pixels (N, 1, 8, 8) in [0, 16]."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32).view(-1, 1, 8, 8)
    y = torch.tensor(d.target, dtype=torch.int64)
    return x[:1400], y[:1400], x[1400:1600], y[1400:1600]


class Threshold(nn.Module):
    """A linear classifier on pixels thresholded at 8: accurate, and no input gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear((x > 8).float().flatten(1))


def trained(model: nn.Module, steps: int = 150, scale: float = 1 / 16) -> nn.Module:
    """``model`` fitted to the digits with Adam (full batch, seeded)."""
    torch.manual_seed(0)
    x, y, _, _ = digits()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x * scale if scale != 1 else x), y).backward()
        opt.step()
    return model.eval()


class Scaled(nn.Module):
    """``inner(x / 16)``: pixels in [0, 1] inside, raw units outside."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x / 16)


@functools.cache
def linear() -> nn.Module:
    torch.manual_seed(0)
    return Scaled(trained(nn.Sequential(nn.Flatten(), nn.Linear(64, 10))))


@functools.cache
def threshold() -> nn.Module:
    torch.manual_seed(0)
    m = Threshold()
    trained(m, scale=1)
    return m.eval()


def with_batch_norm() -> nn.Module:
    torch.manual_seed(0)
    return Scaled(trained(nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32),
                                        nn.ReLU(), nn.Linear(32, 10)), steps=60))
