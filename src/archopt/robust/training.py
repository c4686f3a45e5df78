"""Adversarial training (``train.adversarial``): each training batch is attacked in raw input
units before the step.

  pgd       PGD adversarial training (Madry et al. 2018): train on the last PGD iterate
  fgsm_rs   fast FGSM with a random start (Wong et al. 2020): one step of 1.25 eps from a
            uniform start; a guard stops training on catastrophic overfitting (below)
  trades    TRADES (Zhang et al. 2019): cross-entropy on clean inputs plus beta times the KL
            divergence between the model's outputs on clean and attacked inputs

The trainer's batches are normalized; the attack undoes the normalization so that ``eps`` is in
the data's units and the perturbed inputs stay in the data's valid range (``robust.domain``),
then normalizes again. The model is in eval mode while it is attacked (batch norm statistics are
neither used per batch nor updated by the attack) and back in train mode for the step. Random
starts come from the trainer's checkpointed generator, so a killed run resumes to the same
result. Noise augmentation (``data.augment``) is applied first: the attack starts from the
augmented batch.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from archopt.robust import attacks as atk
from archopt.robust.domain import Domain, data_domain, stat_view
from archopt.train.callbacks._base import Callback


@dataclass
class Attacked:
    """What the step trains on: ``x`` (normalized) and an extra loss term on the outputs."""

    x: torch.Tensor
    extra: Any = None  # fn(out) -> loss, or None


class AdversarialStep:
    """Called by the training step with the (augmented) batch; returns what to train on."""

    def __init__(self, cfg: Any, domain: Domain, kind: str, normalization: dict[str, Any]
                 ) -> None:
        scale = domain.span if cfg.relative else 1.0
        self.method, self.steps, self.beta = cfg.method, cfg.steps, cfg.beta
        self.eps = cfg.eps * scale
        default = 1.25 * self.eps if cfg.method == "fgsm_rs" else 2.5 * self.eps / cfg.steps
        self.alpha = cfg.step_size * scale if cfg.step_size is not None else default
        self.domain = domain
        mean, std = normalization.get("mean"), normalization.get("std")
        self.mean = stat_view(mean, kind) if mean is not None else None
        self.std = stat_view(std, kind) if std is not None else None

    # raw <-> normalized
    def raw(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std.to(x.device) + self.mean.to(x.device) if self.mean is not None else x

    def normalized(self, x: torch.Tensor) -> torch.Tensor:
        return ((x - self.mean.to(x.device)) / self.std.to(x.device)
                if self.mean is not None else x)

    def __call__(self, t: Any, x: torch.Tensor, y: torch.Tensor) -> Attacked:
        model = t.model
        was_training = model.training
        model.eval()  # 1) attack the model as it predicts (batch norm: running statistics)
        try:
            xr = self.raw(x.detach())

            def f(z: torch.Tensor) -> torch.Tensor:
                return model(self.normalized(z))

            if self.method == "trades":
                x_adv = self.trades_attack(f, xr, t.aug_gen)
            else:
                x_adv = self.attack(f, xr, y, t.aug_gen)
        finally:
            model.train(was_training)  # 2) the step itself trains as usual
        xn = self.normalized(x_adv).detach()
        if self.method != "trades":
            return Attacked(xn)
        net = t.net

        def kl(out: torch.Tensor) -> torch.Tensor:  # 3) TRADES: beta * KL(f(x) || f(x'))
            adv = net(xn)
            return self.beta * F.kl_div(F.log_softmax(adv.float(), -1),
                                        F.softmax(out.float(), -1), reduction="batchmean")

        return Attacked(x, kl)

    def attack(self, f: Any, x: torch.Tensor, y: torch.Tensor, gen: torch.Generator
               ) -> torch.Tensor:
        """PGD (last iterate) or FGSM from a uniform random start, in the L-inf ball."""
        x_adv = atk.project(atk.random_start(x, self.eps, "linf", gen), x, self.eps, "linf",
                            self.domain)
        for _ in range(1 if self.method == "fgsm_rs" else self.steps):
            g = atk._grad(f, x_adv, y)
            x_adv = atk.project(x_adv + self.alpha * g.sign(), x, self.eps, "linf", self.domain)
        return x_adv

    def trades_attack(self, f: Any, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """TRADES' inner maximization: the KL divergence from the clean outputs."""
        with torch.no_grad():
            p = F.softmax(f(x), -1)
        noise = torch.randn(x.shape, generator=gen).to(x.device)
        x_adv = self.domain.clamp(x + 0.001 * self.eps * noise)
        for _ in range(self.steps):
            z = x_adv.detach().requires_grad_(True)
            with torch.enable_grad():
                loss = F.kl_div(F.log_softmax(f(z), -1), p, reduction="sum")
                (g,) = torch.autograd.grad(loss, z)
            x_adv = atk.project(z.detach() + self.alpha * g.sign(), x, self.eps, "linf",
                                self.domain)
        return x_adv


def build(cfg: Any, data: Any) -> AdversarialStep:
    """The step's attack for ``train.adversarial`` on ``data`` (normalized splits)."""
    from archopt.errors import UserError

    kind = data.kind
    if data.task != "classification":
        raise UserError("train.adversarial", f"trains classifiers; this is a {data.task} task",
                        "remove train.adversarial")
    if not hasattr(data.train, "x"):
        raise UserError("train.adversarial", "needs the training split in memory",
                        "remove train.adversarial for streamed data")
    norm = data.normalization or {}
    mean, std = norm.get("mean"), norm.get("std")
    raw = data.train.x
    if mean is not None:
        raw = raw * stat_view(std, kind) + stat_view(mean, kind)
    domain = data_domain(raw, kind)
    eps = cfg.eps * (domain.span if cfg.relative else 1.0)
    if eps > domain.span:
        raise UserError("train.adversarial.eps", f"{eps:g} is larger than the data's whole "
                        f"range ({domain.span:.4g} in raw units)",
                        "give eps in the data's units, or a fraction with relative: true")
    return AdversarialStep(cfg, domain, kind, norm)


class OverfitGuard(Callback):
    """Fast FGSM's guard against catastrophic overfitting (Wong et al. 2020): after each epoch,
    PGD accuracy on a fixed training subset (``train_pgd_accuracy`` in the history), or, with
    ``watch_val``, the ``val_pgd_accuracy`` that robust checkpoint selection measured already
    (no second attack: on small data the guard's PGD would cost as much as the FGSM epoch);
    when it falls by more than ``drop`` below its best, training stops and the model goes back
    to the weights of that best epoch (that epoch's validation figures are dropped, so it
    cannot become best.pt)."""

    key = "adversarial_guard"

    def __init__(self, step: AdversarialStep, x: torch.Tensor, y: torch.Tensor,
                 drop: float = 0.2, watch_val: bool = False) -> None:
        self.step, self.x, self.y, self.drop = step, x, y, drop
        self.watch_val = watch_val
        self.best = -1.0
        self.best_weights: dict[str, Any] | None = None
        self.collapsed_epoch = 0

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        if self.watch_val:
            acc = logs.get("val_pgd_accuracy")
            if acc is None:  # no validation this epoch (train.eval_every)
                return
        else:
            acc = self.pgd_accuracy(trainer.model)
            logs["train_pgd_accuracy"] = acc
        if acc >= self.best:
            self.best = acc
            self.best_weights = copy.deepcopy(trainer.model.state_dict())
        elif acc < self.best - self.drop and self.best_weights is not None:
            from archopt.errors import warn

            self.collapsed_epoch = int(logs["epoch"])
            warn("train.adversarial", f"catastrophic overfitting at epoch {logs['epoch']}: PGD "
                 f"accuracy on training examples fell from {self.best:.3f} to {acc:.3f}",
                 "stopped, and the weights of the best epoch restored")
            trainer.model.load_state_dict(self.best_weights)
            for k in list(logs):
                if k.startswith("val_"):
                    logs[k] = None
            trainer.should_stop = True

    def pgd_accuracy(self, model: nn.Module) -> float:
        return pgd_accuracy(self.step, model, self.x, self.y, self.step.eps / 4)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "weights": self.best_weights,
                "collapsed_epoch": self.collapsed_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_weights = float(state["best"]), state["weights"]
        self.collapsed_epoch = int(state.get("collapsed_epoch", 0))


def guard(step: AdversarialStep, data: Any, size: int = 256, watch_val: bool = False
          ) -> OverfitGuard:
    """The guard on the first ``size`` training examples (a fixed subset), or on
    ``val_pgd_accuracy`` (``watch_val``)."""
    return OverfitGuard(step, data.train.x[:size], data.train.y[:size], watch_val=watch_val)


def pgd_accuracy(step: AdversarialStep, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                 step_size: float | None = None, batch: int = 512) -> float:
    """Accuracy of ``model`` (eval mode) on normalized ``x`` under PGD-10 at the training
    epsilon, from a fixed random start (seed 0), so that epochs compare."""
    was = model.training
    model.eval()
    try:
        dev = next(model.parameters()).device
        gen = torch.Generator().manual_seed(0)

        def f(z: torch.Tensor) -> torch.Tensor:
            return model(step.normalized(z))

        right = 0
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch].to(dev), y[i:i + batch].to(dev)
            xa = atk.pgd(f, step.raw(xb), yb, step.eps, step.domain, "linf", steps=10,
                         step_size=step_size, gen=gen)
            with torch.no_grad():
                right += int((f(xa).argmax(-1) == yb).sum())
        return right / max(len(x), 1)
    finally:
        model.train(was)


class RobustValidation(Callback):
    """``val_pgd_accuracy``: after each validation, the accuracy on (the first ``size``
    examples of) the validation split under PGD-10 at the training epsilon. With
    ``train.adversarial.select: robust`` it decides ``best.pt``: adversarially trained models
    overfit robustly, their PGD accuracy peaks and then falls while the clean validation loss
    goes on improving (Rice et al. 2020), so the clean loss picks the wrong epoch."""

    key = "robust_validation"

    def __init__(self, step: AdversarialStep, x: torch.Tensor, y: torch.Tensor) -> None:
        self.step, self.x, self.y = step, x, y

    def on_validation_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        logs["val_pgd_accuracy"] = pgd_accuracy(self.step, trainer.model, self.x, self.y)


def robust_validation(step: AdversarialStep, data: Any, size: int = 1000) -> RobustValidation:
    """``RobustValidation`` on the first ``size`` validation examples."""
    return RobustValidation(step, data.val.x[:size], data.val.y[:size])
