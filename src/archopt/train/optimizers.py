"""Optimizers, registered in OPTIMIZERS: torch.optim classes built from the spec.

``lr``, ``weight_decay`` and ``decay_norm_and_bias`` live on ``OptimizerSpec`` (common to all);
each entry's config holds only its own settings, so ``momentum`` on ``adam`` is an error that
names ``train.optimizer.momentum``.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from archopt.registry import OPTIMIZERS
from archopt.spec.schema import OptimizerSpec

COMMON = ("lr", "weight_decay", "decay_norm_and_bias")


class OptConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # generation only: the discriminator's learning rate (None: the same lr as the generator)
    discriminator_lr: float | None = Field(None, gt=0.0)


def param_groups(model: nn.Module, weight_decay: float, decay_norm_and_bias: bool) -> list[dict]:
    """Parameter groups; with ``decay_norm_and_bias=False`` biases and norm weights (every
    parameter with fewer than 2 dimensions) get no weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    if decay_norm_and_bias or weight_decay == 0:
        return [{"params": params, "weight_decay": weight_decay}]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(spec: OptimizerSpec, model: nn.Module, lr: float | None = None,
                    where: str = "train.optimizer", groups: list[dict] | None = None
                    ) -> torch.optim.Optimizer:
    """The optimizer named in ``spec`` over ``model``'s parameters (``lr`` overrides spec.lr;
    ``groups``, parameter groups with their own ``lr``, replace the default ones)."""
    own = {k: v for k, v in spec.params().items() if k not in COMMON and k != "discriminator_lr"}
    if groups is None:
        groups = param_groups(model, spec.weight_decay, spec.decay_norm_and_bias)
    return OPTIMIZERS.build({"name": spec.name, **own}, where, groups=groups,
                            lr=spec.lr if lr is None else lr)


class SGDConfig(OptConfig):
    momentum: float = Field(0.0, ge=0.0, lt=1.0)      # heavy-ball momentum; 0 = plain SGD
    dampening: float = Field(0.0, ge=0.0, le=1.0)     # scales the gradient added to momentum


@OPTIMIZERS.register("sgd", config=SGDConfig)
def sgd(cfg: SGDConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """Stochastic gradient descent (``momentum`` optional)."""
    return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, dampening=cfg.dampening)


class MomentumConfig(OptConfig):
    momentum: float = Field(0.9, gt=0.0, lt=1.0)      # heavy-ball momentum


@OPTIMIZERS.register("momentum", config=MomentumConfig)
def momentum(cfg: MomentumConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """SGD with heavy-ball momentum (0.9 by default)."""
    return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum)


@OPTIMIZERS.register("nesterov", config=MomentumConfig)
def nesterov(cfg: MomentumConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum (0.9 by default)."""
    return torch.optim.SGD(groups, lr=lr, momentum=cfg.momentum, nesterov=True)


class AdagradConfig(OptConfig):
    lr_decay: float = Field(0.0, ge=0.0)              # lr / (1 + step * lr_decay)
    initial_accumulator_value: float = Field(0.0, ge=0.0)
    eps: float = Field(1e-10, gt=0.0)                 # added to the denominator


@OPTIMIZERS.register("adagrad", config=AdagradConfig)
def adagrad(cfg: AdagradConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """AdaGrad: per-parameter steps scaled by the sum of past squared gradients."""
    return torch.optim.Adagrad(groups, lr=lr, lr_decay=cfg.lr_decay, eps=cfg.eps,
                               initial_accumulator_value=cfg.initial_accumulator_value)


class RMSpropConfig(OptConfig):
    alpha: float = Field(0.99, gt=0.0, lt=1.0)        # decay of the squared-gradient average
    momentum: float = Field(0.0, ge=0.0, lt=1.0)
    centered: bool = False                            # normalize by the gradient's variance
    eps: float = Field(1e-8, gt=0.0)


@OPTIMIZERS.register("rmsprop", config=RMSpropConfig)
def rmsprop(cfg: RMSpropConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """RMSProp: steps scaled by a running average of squared gradients."""
    return torch.optim.RMSprop(groups, lr=lr, alpha=cfg.alpha, eps=cfg.eps,
                               momentum=cfg.momentum, centered=cfg.centered)


class AdamConfig(OptConfig):
    betas: tuple[float, float] = (0.9, 0.999)         # decay of the gradient's 1st/2nd moments
    eps: float = Field(1e-8, gt=0.0)                  # added to the denominator
    amsgrad: bool = False                             # keep the max of the 2nd moment


def _adam_kwargs(cfg: AdamConfig) -> dict[str, Any]:
    return {"betas": tuple(cfg.betas), "eps": cfg.eps, "amsgrad": cfg.amsgrad}


@OPTIMIZERS.register("adam", config=AdamConfig)
def adam(cfg: AdamConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """Adam (weight decay is L2, coupled with the gradient)."""
    return torch.optim.Adam(groups, lr=lr, **_adam_kwargs(cfg))


@OPTIMIZERS.register("adamw", config=AdamConfig)
def adamw(cfg: AdamConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """AdamW: Adam with decoupled weight decay."""
    return torch.optim.AdamW(groups, lr=lr, **_adam_kwargs(cfg))


class SGDHDConfig(OptConfig):
    momentum: float = Field(0.0, ge=0.0, lt=1.0)      # heavy-ball momentum; 0 = plain SGD
    hypergrad_lr: float = Field(0.02, gt=0.0)         # beta: the learning rate's own step size
    multiplicative: bool = True                       # lr *= 1 + beta*cos (False: lr += beta*h)


@OPTIMIZERS.register("sgd_hd", config=SGDHDConfig)
def sgd_hd(cfg: SGDHDConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """SGD whose learning rate adapts by hypergradient descent (Baydin et al. 2018)."""
    from archopt.train.hypergradient import SGDHD

    return SGDHD(groups, lr=lr, momentum=cfg.momentum, hypergrad_lr=cfg.hypergrad_lr,
                 multiplicative=cfg.multiplicative)


class AdamHDConfig(OptConfig):
    betas: tuple[float, float] = (0.9, 0.999)         # decay of the gradient's 1st/2nd moments
    eps: float = Field(1e-8, gt=0.0)                  # added to the denominator
    hypergrad_lr: float = Field(0.02, gt=0.0)         # beta: the learning rate's own step size
    multiplicative: bool = True                       # lr *= 1 + beta*cos (False: lr += beta*h)


@OPTIMIZERS.register("adam_hd", config=AdamHDConfig)
def adam_hd(cfg: AdamHDConfig, groups: list[dict], lr: float) -> torch.optim.Optimizer:
    """Adam whose learning rate adapts by hypergradient descent (Baydin et al. 2018)."""
    from archopt.train.hypergradient import AdamHD

    return AdamHD(groups, lr=lr, betas=tuple(cfg.betas), eps=cfg.eps,
                  hypergrad_lr=cfg.hypergrad_lr, multiplicative=cfg.multiplicative)
