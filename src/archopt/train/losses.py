"""Losses, registered in LOSSES: ``loss(pred, target) -> scalar`` modules built from the spec.

Each loss declares the tasks it fits; ``check_loss`` turns a mismatch (``mse`` on class indices)
into a UserError that says why and what to use instead. Classification targets are class
indices ``(B,)`` or, after mixup/cutmix, soft probabilities ``(B, C)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from archopt.errors import UserError
from archopt.registry import LOSSES

# which tasks each loss fits (checked before anything runs)
LOSS_TASKS: dict[str, set[str]] = {
    "cross_entropy": {"classification", "contrastive", "prototypical"},  # over similarities
    "focal": {"classification"},
    "bce": {"classification", "reconstruction"},
    "mse": {"regression", "reconstruction"},
    "mae": {"regression", "reconstruction"},
    "huber": {"regression", "reconstruction"},
    "gan_nonsaturating": {"generation"},
    "gan_hinge": {"generation"},
}

DEFAULT_LOSS = {"classification": "cross_entropy", "regression": "mse",
                "reconstruction": "mse", "generation": "gan_nonsaturating",
                "contrastive": "cross_entropy", "prototypical": "cross_entropy"}


def check_loss(name: str, task: str, where: str = "train.loss.name") -> None:
    """UserError when loss ``name`` does not fit ``task``, with the reason and a suggestion."""
    if task in LOSS_TASKS.get(name, {task}):
        return
    why = {
        "classification": "targets are class indices; '{n}' needs one-hot or real-valued "
                          "targets (a regression task)",
        "regression": "targets are real values; '{n}' needs class indices (a classification "
                      "task)",
        "reconstruction": "the target is the input itself; '{n}' does not compare two tensors",
        "generation": "a GAN needs an adversarial loss; '{n}' is not one",
    }.get(task, "it is a cross-entropy over similarities").format(n=name)
    fits = sorted(n for n, tasks in LOSS_TASKS.items() if task in tasks)
    raise UserError(where, f"loss '{name}' does not fit the {task} task: {why}",
                    f"use {DEFAULT_LOSS[task]} (losses for {task}: {', '.join(fits)})")


def soft_targets(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B,) class indices or (B, C) probabilities -> (B, C) float probabilities."""
    if target.ndim == 1:
        return F.one_hot(target, num_classes).float()
    return target.float()


class LossConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- classification ---------------------------------------------------------------------------

class CrossEntropyConfig(LossConfig):
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)   # mass spread evenly over all classes
    class_weights: list[float] | None = None              # one weight per class (imbalance)


def _class_weights(weights: list[float] | None, num_classes: int | None) -> torch.Tensor | None:
    if weights is None:
        return None
    if num_classes is not None and len(weights) != num_classes:
        raise UserError("train.loss.class_weights", f"has {len(weights)} weights but the data "
                        f"has {num_classes} classes", "give one weight per class")
    return torch.tensor(weights, dtype=torch.float32)


@LOSSES.register("cross_entropy", config=CrossEntropyConfig)
def cross_entropy(cfg: CrossEntropyConfig, num_classes: int | None = None, **_) -> nn.Module:
    """Softmax cross-entropy on logits; accepts class indices or soft targets (mixup)."""
    return nn.CrossEntropyLoss(weight=_class_weights(cfg.class_weights, num_classes),
                               label_smoothing=cfg.label_smoothing)


class FocalConfig(LossConfig):
    gamma: float = Field(2.0, ge=0.0)                 # down-weights easy examples; 0 = CE
    alpha: float | list[float] | None = None          # scalar or per-class weight of the loss


class FocalLoss(nn.Module):
    """Multi-class focal loss (Lin et al. 2017): ``-alpha_c (1 - p_c)^gamma log p_c``."""

    def __init__(self, gamma: float, alpha: torch.Tensor | float | None) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("alpha", torch.as_tensor(alpha if alpha is not None else 1.0))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits.float(), dim=-1)                  # (B, C)
        t = soft_targets(target, logits.shape[-1])                    # (B, C)
        focal = (1 - logp.exp()).pow(self.gamma) * logp               # (B, C)
        return -(self.alpha * t * focal).sum(-1).mean()


@LOSSES.register("focal", config=FocalConfig)
def focal(cfg: FocalConfig, num_classes: int | None = None, **_) -> nn.Module:
    """Focal loss for imbalanced classes (gamma focuses on hard examples)."""
    alpha = cfg.alpha
    if isinstance(alpha, list):
        alpha = _class_weights(alpha, num_classes)
    return FocalLoss(cfg.gamma, alpha)


class BCEConfig(LossConfig):
    pos_weight: float | None = Field(None, gt=0.0)    # weight of positive targets


class BCELoss(nn.Module):
    """Binary cross-entropy on logits; class indices become one-hot targets."""

    def __init__(self, pos_weight: float | None) -> None:
        super().__init__()
        self.pos_weight = pos_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if target.dtype == torch.int64:
            target = soft_targets(target, logits.shape[-1])
        pw = None if self.pos_weight is None else torch.tensor(self.pos_weight,
                                                                device=logits.device)
        return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), pos_weight=pw)


@LOSSES.register("bce", config=BCEConfig)
def bce(cfg: BCEConfig, **_) -> nn.Module:
    """Binary cross-entropy with logits (multi-label, one-hot, or inputs in [0, 1])."""
    return BCELoss(cfg.pos_weight)


# -- regression / reconstruction --------------------------------------------------------------

class Matched(nn.Module):
    """Wraps an elementwise loss; (B,) predictions vs (B, 1) targets are reshaped to match."""

    def __init__(self, fn: nn.Module) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape and pred.numel() == target.numel():
            pred = pred.reshape(target.shape)
        return self.fn(pred.float(), target.float())


@LOSSES.register("mse", config=LossConfig)
def mse(cfg: LossConfig, **_) -> nn.Module:
    """Mean squared error."""
    return Matched(nn.MSELoss())


@LOSSES.register("mae", config=LossConfig)
def mae(cfg: LossConfig, **_) -> nn.Module:
    """Mean absolute error (L1)."""
    return Matched(nn.L1Loss())


class HuberConfig(LossConfig):
    delta: float = Field(1.0, gt=0.0)                 # quadratic below delta, linear above


@LOSSES.register("huber", config=HuberConfig)
def huber(cfg: HuberConfig, **_) -> nn.Module:
    """Huber loss: MSE near zero, MAE for large errors (robust to outliers)."""
    return Matched(nn.HuberLoss(delta=cfg.delta))


# -- generation (GAN) -------------------------------------------------------------------------

class GANLoss(nn.Module):
    """Adversarial losses on discriminator logits: ``d_loss(real, fake)`` and ``g_loss(fake)``."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class NonSaturatingGANLoss(GANLoss):
    """Goodfellow et al.: D minimizes BCE(real=1, fake=0); G maximizes log D(G(z))."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()


class HingeGANLoss(GANLoss):
    """Hinge loss (SAGAN / BigGAN): D on max(0, 1 -+ logits); G maximizes D's logits."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("gan_nonsaturating", config=LossConfig)
def gan_nonsaturating(cfg: LossConfig, **_) -> nn.Module:
    """Non-saturating GAN loss (softplus form of BCE on logits)."""
    return NonSaturatingGANLoss()


@LOSSES.register("gan_hinge", config=LossConfig)
def gan_hinge(cfg: LossConfig, **_) -> nn.Module:
    """Hinge GAN loss."""
    return HingeGANLoss()
