"""Learning-rate schedules, registered in SCHEDULERS: torch.optim.lr_scheduler, used natively.

Every schedule but ``plateau`` is stepped once per optimizer step; settings given in epochs
(``step_size``, ``milestones``, ``gamma`` of ``exponential``) are converted to steps, so the
result equals per-epoch stepping. ``warmup_steps`` prepends a linear warm-up (``LinearLR``
then the schedule, through ``SequentialLR``). ``plateau`` is stepped once per epoch with the
monitored value.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator
from torch.optim import lr_scheduler as S

from archopt.errors import UserError, warn
from archopt.registry import SCHEDULERS
from archopt.spec.schema import SchedulerSpec


class SchedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")


def build_scheduler(spec: SchedulerSpec | None, optimizer: torch.optim.Optimizer,
                    steps_per_epoch: int, total_steps: int, where: str = "train.scheduler"
                    ) -> S.LRScheduler | S.ReduceLROnPlateau | None:
    """The schedule of ``spec`` (with its warm-up) on ``optimizer``, or None.

    Raises:
        UserError: when settings conflict (warm-up with onecycle or plateau, a warm-up as long
            as the whole run, milestones past the end).
    """
    if spec is None:
        return None
    warm = spec.warmup_steps
    if warm and spec.name in ("onecycle", "plateau"):
        why = ("onecycle has its own warm-up (pct_start)" if spec.name == "onecycle"
               else "plateau reacts to a monitored value once per epoch, not per step")
        raise UserError(f"{where}.warmup_steps", f"cannot be combined with '{spec.name}': {why}",
                        "remove warmup_steps" + (" and set pct_start instead"
                                                 if spec.name == "onecycle" else ""))
    if warm >= total_steps:  # a short trial of a long spec (--set train.max_steps=30)
        capped = total_steps // 10
        warn(f"{where}.warmup_steps", f"is {warm} but the run has only {total_steps} "
             f"optimizer steps; warming up for {capped} steps (a tenth of the run) instead",
             "set train.scheduler.warmup_steps to choose")
        warm = capped
    main = SCHEDULERS.build({"name": spec.name, **spec.params()}, where, optimizer=optimizer,
                            steps_per_epoch=steps_per_epoch, total_steps=total_steps - warm)
    if warm == 0:
        return main
    # 1) linear warm-up: base_lr * (i + 1) / (warm + 1) at step i, 2) the schedule itself
    warmup = S.LinearLR(optimizer, start_factor=1.0 / (warm + 1), end_factor=1.0,
                        total_iters=warm)
    return S.SequentialLR(optimizer, [warmup, main], milestones=[warm])


def scale_lr(optimizer: torch.optim.Optimizer, scheduler: object, factor: float) -> None:
    """Multiply an optimizer's learning rates, and its schedule's, by ``factor``: a run resumed
    with a new ``train.optimizer.lr`` continues its schedule from the new rate."""
    for group in optimizer.param_groups:
        for key in ("lr", "initial_lr", "max_lr", "min_lr"):
            if isinstance(group.get(key), float | int):
                group[key] = group[key] * factor
    todo = [scheduler] if scheduler is not None else []
    while todo:
        sched = todo.pop()
        todo += list(getattr(sched, "_schedulers", []))  # SequentialLR: warm-up, then main
        for key in ("base_lrs", "_last_lr"):
            if isinstance(getattr(sched, key, None), list):
                setattr(sched, key, [v * factor for v in getattr(sched, key)])


def is_per_epoch(scheduler: object) -> bool:
    """True for schedules stepped once per epoch with a monitored value (plateau)."""
    return isinstance(scheduler, S.ReduceLROnPlateau)


class StepConfig(SchedConfig):
    step_size: int = Field(..., gt=0)                 # epochs between decays
    gamma: float = Field(0.1, gt=0.0, le=1.0)         # multiplies the lr at each decay


@SCHEDULERS.register("step", config=StepConfig)
def step(cfg: StepConfig, optimizer, steps_per_epoch: int, total_steps: int) -> S.LRScheduler:
    """Multiply the lr by ``gamma`` every ``step_size`` epochs."""
    return S.StepLR(optimizer, step_size=cfg.step_size * steps_per_epoch, gamma=cfg.gamma)


class MultiStepConfig(SchedConfig):
    milestones: list[int] = Field(..., min_length=1)  # epochs at which the lr is decayed
    gamma: float = Field(0.1, gt=0.0, le=1.0)

    @field_validator("milestones")
    @classmethod
    def _increasing(cls, v: list[int]) -> list[int]:
        if any(m <= 0 for m in v) or any(b <= a for a, b in zip(v, v[1:])):
            raise ValueError("milestones must be positive and strictly increasing")
        return v


@SCHEDULERS.register("multistep", config=MultiStepConfig)
def multistep(cfg: MultiStepConfig, optimizer, steps_per_epoch: int,
              total_steps: int) -> S.LRScheduler:
    """Multiply the lr by ``gamma`` at each milestone epoch."""
    last = cfg.milestones[-1] * steps_per_epoch
    if last > total_steps:
        raise UserError("train.scheduler.milestones", f"milestone {cfg.milestones[-1]} is past "
                        f"the end of training ({total_steps} steps = "
                        f"{total_steps / steps_per_epoch:g} epochs)",
                        "use milestones within the number of epochs")
    return S.MultiStepLR(optimizer, [m * steps_per_epoch for m in cfg.milestones],
                         gamma=cfg.gamma)


class ExponentialConfig(SchedConfig):
    gamma: float = Field(..., gt=0.0, le=1.0)         # lr multiplier per epoch


@SCHEDULERS.register("exponential", config=ExponentialConfig)
def exponential(cfg: ExponentialConfig, optimizer, steps_per_epoch: int,
                total_steps: int) -> S.LRScheduler:
    """Multiply the lr by ``gamma`` every epoch (smoothly, per step)."""
    return S.ExponentialLR(optimizer, gamma=cfg.gamma ** (1.0 / steps_per_epoch))


class CosineConfig(SchedConfig):
    eta_min: float = Field(0.0, ge=0.0)               # lr at the end of the run


@SCHEDULERS.register("cosine", config=CosineConfig)
def cosine(cfg: CosineConfig, optimizer, steps_per_epoch: int, total_steps: int) -> S.LRScheduler:
    """Cosine decay from the lr to ``eta_min`` over the run (after warm-up)."""
    return S.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=cfg.eta_min)


class OneCycleConfig(SchedConfig):
    max_lr: float | None = Field(None, gt=0.0)        # peak lr (None: train.optimizer.lr)
    pct_start: float = Field(0.3, gt=0.0, lt=1.0)     # fraction of the run spent rising
    anneal_strategy: Literal["cos", "linear"] = "cos"
    div_factor: float = Field(25.0, gt=0.0)           # initial lr = max_lr / div_factor
    final_div_factor: float = Field(1e4, gt=0.0)      # final lr = initial lr / final_div_factor
    cycle_momentum: bool = True                       # when the optimizer has momentum/betas


@SCHEDULERS.register("onecycle", config=OneCycleConfig)
def onecycle(cfg: OneCycleConfig, optimizer, steps_per_epoch: int,
             total_steps: int) -> S.LRScheduler:
    """The 1cycle policy (Smith): warm up to ``max_lr`` then anneal far below the start."""
    # one peak per parameter group, in the groups' own proportions (discriminative rates)
    first = optimizer.param_groups[0]["lr"]
    max_lr = [(cfg.max_lr or first) * g["lr"] / first for g in optimizer.param_groups]
    d = optimizer.defaults
    has_momentum = "betas" in d or d.get("momentum", 0) > 0
    return S.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps,
                        pct_start=cfg.pct_start, anneal_strategy=cfg.anneal_strategy,
                        div_factor=cfg.div_factor, final_div_factor=cfg.final_div_factor,
                        cycle_momentum=cfg.cycle_momentum and has_momentum)


class PlateauConfig(SchedConfig):
    monitor: str = "val_loss"                         # history key watched (train_* without val)
    mode: Literal["min", "max", "auto"] = "auto"      # auto: max for accuracy-like names
    factor: float = Field(0.1, gt=0.0, lt=1.0)        # lr multiplier on a plateau
    patience: int = Field(10, ge=0)                   # epochs without improvement before decay
    threshold: float = Field(1e-4, ge=0.0)            # relative improvement that counts
    min_lr: float = Field(0.0, ge=0.0)


@SCHEDULERS.register("plateau", config=PlateauConfig)
def plateau(cfg: PlateauConfig, optimizer, steps_per_epoch: int,
            total_steps: int) -> S.ReduceLROnPlateau:
    """Reduce the lr when the monitored value stops improving (stepped once per epoch)."""
    from archopt.train.metrics import monitor_mode

    sched = S.ReduceLROnPlateau(optimizer, mode=monitor_mode(cfg.monitor, cfg.mode),
                                factor=cfg.factor, patience=cfg.patience,
                                threshold=cfg.threshold, min_lr=cfg.min_lr)
    sched.monitor = cfg.monitor  # read by the loop at the end of each epoch
    return sched
