"""Hypergradient descent (Baydin et al. 2018, "Online Learning Rate Adaptation with
Hypergradient Descent"): the learning rate is itself trained, during the one run, by gradient
descent on the loss.

After step t-1 moved the weights by ``-lr * d_{t-1}`` (``d`` is the plain gradient for SGD, the
momentum buffer for SGD with momentum, ``m_hat / (sqrt(v_hat) + eps)`` for Adam), the derivative
of the new loss with respect to the learning rate is ``h_t = -g_t . d_{t-1}``. So before each
step the learning rate moves against it:

- additive (the paper's eq. 4):  ``lr += beta * g_t . d_{t-1}``
- multiplicative (the paper's section 3, scale-free):
  ``lr *= 1 + beta * cos(g_t, d_{t-1})``, which is what archopt uses by default: ``beta`` is then
  a relative change per step and does not depend on the model's size.

The learning rate lives in ``param_groups[...]["lr"]``, so it is saved with the optimizer's state
(resume is exact) and the loop writes its trajectory into ``history.jsonl`` (``lr`` per epoch).
The direction ``d`` is kept in the optimizer state as ``hd_direction``.
"""

from __future__ import annotations

import math
from typing import Any

import torch


class _HyperGradient:
    """Mixin over a torch optimizer: adapt each group's lr before the optimizer's own step."""

    def _hd_init(self, hypergrad_lr: float, multiplicative: bool) -> None:
        for g in self.param_groups:  # type: ignore[attr-defined]
            g.setdefault("hypergrad_lr", hypergrad_lr)
            g.setdefault("hd_multiplicative", multiplicative)

    def _direction(self, p: torch.Tensor, group: dict[str, Any]) -> torch.Tensor | None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:  # noqa: D102
        for group in self.param_groups:  # type: ignore[attr-defined]
            dot = torch.zeros((), dtype=torch.float64)
            gg = torch.zeros((), dtype=torch.float64)
            dd = torch.zeros((), dtype=torch.float64)
            seen = False
            for p in group["params"]:
                if p.grad is None:
                    continue
                prev = self.state[p].get("hd_direction")  # type: ignore[attr-defined]
                if prev is None:
                    continue
                g = p.grad
                if group.get("weight_decay"):
                    g = g.add(p, alpha=group["weight_decay"])
                seen = True
                dot += (g.double() * prev.double()).sum().cpu()
                if group["hd_multiplicative"]:
                    gg += g.double().pow(2).sum().cpu()
                    dd += prev.double().pow(2).sum().cpu()
            if seen:
                beta = group["hypergrad_lr"]
                if group["hd_multiplicative"]:
                    cos = float(dot / (gg.sqrt() * dd.sqrt() + 1e-30))
                    group["lr"] = group["lr"] * (1.0 + beta * cos)
                else:
                    group["lr"] = max(group["lr"] + beta * float(dot), 0.0)
                if not math.isfinite(group["lr"]):
                    group["lr"] = 0.0
        loss = super().step(closure)  # type: ignore[misc]
        for group in self.param_groups:  # type: ignore[attr-defined]
            for p in group["params"]:
                if p.grad is None:
                    continue
                d = self._direction(p, group)
                if d is not None:
                    self.state[p]["hd_direction"] = d  # type: ignore[attr-defined]
        return loss


class SGDHD(_HyperGradient, torch.optim.SGD):
    """SGD (optionally with momentum) whose learning rate follows its hypergradient."""

    def __init__(self, params: Any, lr: float, momentum: float = 0.0,
                 hypergrad_lr: float = 0.02, multiplicative: bool = True) -> None:
        super().__init__(params, lr=lr, momentum=momentum)
        self._hd_init(hypergrad_lr, multiplicative)

    def _direction(self, p: torch.Tensor, group: dict[str, Any]) -> torch.Tensor | None:
        buf = self.state[p].get("momentum_buffer")
        if buf is not None:
            return buf.clone()
        g = p.grad
        if group.get("weight_decay"):
            g = g.add(p, alpha=group["weight_decay"])
        return g.clone()


class AdamHD(_HyperGradient, torch.optim.Adam):
    """Adam whose learning rate follows its hypergradient."""

    def __init__(self, params: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, hypergrad_lr: float = 0.02,
                 multiplicative: bool = True) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps)
        self._hd_init(hypergrad_lr, multiplicative)

    def _direction(self, p: torch.Tensor, group: dict[str, Any]) -> torch.Tensor | None:
        s = self.state[p]
        if "exp_avg" not in s:
            return None
        step = float(s["step"])
        b1, b2 = group["betas"]
        m_hat = s["exp_avg"] / (1 - b1 ** step)
        v_hat = s["exp_avg_sq"] / (1 - b2 ** step)
        return m_hat / (v_hat.sqrt() + group["eps"])
