"""Everything ``fit`` checks and builds before the first step: device, data, model, task, loss,
metrics, optimizers, schedules, loaders. Nothing here writes a file, so bad input fails before
a run directory exists.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError, suggest
from archopt.registry import LOSSES
from archopt.spec.schema import Spec
from archopt.train.losses import check_loss
from archopt.train.metrics import NON_SCALAR, check_metrics
from archopt.train.optimizers import build_optimizer
from archopt.train.schedulers import build_scheduler
from archopt.train.tasks import Task, build_task

# spec fields a resumed run may change (everything else must be as the run started)
RESUMABLE = {"name", "device", "train.epochs", "train.max_steps", "train.checkpoint_every_steps",
             "train.threads", "train.compile", "train.eval_every", "train.final_train_pass",
             "train.checkpoint_every_s",
             # a diverged run goes on from its last good checkpoint with a lower rate
             "train.optimizer.lr", "train.optimizer.discriminator_lr", "train.clip_grad_norm"}


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """``auto`` is CUDA (this process's GPU) when present, else CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("device", f"is {name} but CUDA is not available on this machine",
                        "use device: auto (or cpu)")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserError("device", "is mps but MPS is not available", "use device: auto")
    if name == "cuda":
        name = f"cuda:{local_rank}"
    return torch.device(name)


def default_threads(world_size: int) -> int:
    """``OMP_NUM_THREADS`` when set (the usual way to share cores among jobs), else the cores
    this process may use, divided among the processes."""
    from archopt.train.threads import cores

    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return cores(world_size)


def set_threads(threads: int | None, world_size: int) -> None:
    """CPU threads per process: the spec's ``train.threads``, else ``default_threads``."""
    torch.set_num_threads(threads or default_threads(world_size))


# optional fields added after runs already existed: unset, they leave the hash as it was, so a
# run started before them still resumes
ADDED_UNSET = {"model.init", "data.classes", "data.per_class", "data.pseudo_labels",
               "train.transfer",
               "train.contrastive", "train.episodes", "fewshot", "train.adversarial"}


def spec_hash(spec: Spec) -> str:
    """A hash of what a resumed run must not change (all but ``RESUMABLE``)."""
    flat = {k: v for k, v in flatten(spec.model_dump(mode="json")).items()
            if k not in RESUMABLE and not (v is None and k in ADDED_UNSET)}
    return hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()[:16]


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def check_resumable(saved: Spec, new: Spec, run_dir: str) -> None:
    """UserError naming the first field that changed in a way a resume cannot follow."""
    a, b = flatten(saved.model_dump(mode="json")), flatten(new.model_dump(mode="json"))
    for key in sorted(set(a) | set(b)):
        if key in RESUMABLE or a.get(key) == b.get(key):
            continue
        raise UserError(f"--resume {run_dir}", f"{key} changed since the run started "
                        f"(was {a.get(key)!r}, now {b.get(key)!r}); only epochs, max_steps, "
                        "optimizer.lr, clip_grad_norm and similar settings may change",
                        "resume with the run's own spec (`archopt train --resume RUN_DIR`) "
                        "or start a new run")


def resolve_length(epochs: int | None, max_steps: int | None, steps_per_epoch: int
                   ) -> tuple[int, int]:
    """(epochs, total optimizer steps) from ``train.epochs`` and/or ``train.max_steps``.

    With both set, the one reached first ends the run, and the epochs returned are the epochs
    the run really has (the last may be partial): ``epochs: 100, max_steps: 120`` at 40 steps
    an epoch is 3 epochs, 120 steps.
    """
    if epochs is None and max_steps is None:
        epochs = 10
    if epochs is None:
        return math.ceil(max_steps / steps_per_epoch), max_steps
    total = epochs * steps_per_epoch
    if max_steps and max_steps < total:
        return math.ceil(max_steps / steps_per_epoch), max_steps
    return epochs, total


def length_note(epochs: int | None, max_steps: int | None, steps_per_epoch: int) -> str:
    """How long the run is and which limit decided it, for the first progress line."""
    n_epochs, total = resolve_length(epochs, max_steps, steps_per_epoch)
    plan = f"{n_epochs} epochs of {steps_per_epoch} steps, {total} steps"
    if epochs is not None and max_steps is not None:
        first = "max_steps" if max_steps < epochs * steps_per_epoch else "epochs"
        plan += (f" (train.epochs={epochs} and train.max_steps={max_steps}: {first} is "
                 "reached first and ends the run)")
    elif epochs is None and max_steps is None:
        plan += " (train.epochs defaults to 10)"
    return plan


def history_keys(metrics: list[str], has_val: bool, task: Task) -> list[str]:
    """The numeric keys of a history line (what early stopping and plateau may monitor)."""
    losses = ["loss", "d_loss", "g_loss"] if task.multi_optimizer else ["loss"]
    names = losses + [m for m in metrics if m not in NON_SCALAR]
    keys = [f"train_{n}" for n in names]
    return keys + ([f"val_{n}" for n in names] if has_val else []) + ["lr"]


def check_monitor(monitor: str, keys: list[str], where: str) -> None:
    if monitor in keys:
        return
    hint = suggest(monitor, keys) or f"logged values: {', '.join(keys)}"
    if monitor.startswith("val_") and not any(k.startswith("val_") for k in keys):
        hint = "there is no validation split: set data.val_split > 0, or monitor a train_ value"
    raise UserError(where, f"'{monitor}' is not logged in the history", hint)


@dataclass
class Parts:
    """What the model is trained for and with (built before anything is written)."""

    task: Task
    loss_fn: nn.Module
    metrics: list[str]          # scalar metrics, logged every epoch
    final_metrics: list[str]    # also non-scalar ones, for metrics.json


def build_parts(spec: Spec, model: nn.Module, shape: Any) -> Parts:
    """Task, loss and metrics, each checked against the others."""
    task = build_task(spec.train.task, model, shape, spec)
    loss = spec.train.loss.section() if spec.train.loss else {"name": task.default_loss}
    check_loss(loss["name"], task.name)
    num_classes = shape.num_outputs if shape.task == "classification" else None
    loss_fn = LOSSES.build(loss, "train.loss", num_classes=num_classes)
    names = spec.train.metrics if spec.train.metrics is not None else task.default_metrics
    check_metrics(names, task.name)
    final = list(names)
    if task.name == "classification" and "confusion_matrix" not in final:
        final.append("confusion_matrix")
    return Parts(task, loss_fn, [m for m in names if m not in NON_SCALAR], final)


def build_optimizers(spec: Spec, model: nn.Module, task: Task, steps_per_epoch: int,
                     total_steps: int) -> tuple[dict[str, torch.optim.Optimizer], dict]:
    """One optimizer (two for a GAN: generator and discriminator) and their schedules."""
    t = spec.train
    if task.multi_optimizer:
        d_lr = t.optimizer.params().get("discriminator_lr") or t.optimizer.lr
        opts = {"generator": build_optimizer(t.optimizer, model.generator),
                "discriminator": build_optimizer(t.optimizer, model.discriminator, lr=d_lr)}
    else:
        groups = None
        if t.transfer is not None:  # discriminative / layer-wise learning rates
            from archopt.transfer.lr_groups import lr_groups, uses_groups

            if uses_groups(t.transfer):
                head = spec.model.init.head if spec.model.init is not None else "head"
                groups = lr_groups(model, t.transfer, t.optimizer.lr, t.optimizer.weight_decay,
                                   t.optimizer.decay_norm_and_bias, head)
        opts = {"main": build_optimizer(t.optimizer, model, groups=groups)}
    scheds = {}
    for k, opt in opts.items():
        s = build_scheduler(t.scheduler, opt, steps_per_epoch, total_steps)
        if s is not None:
            scheds[k] = s
    return opts, scheds


def penalized_weights(model: nn.Module) -> list[torch.Tensor]:
    """Parameters that L1/L2 penalties apply to: weights (2+ dims), not biases or norms."""
    return [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]


def amp_dtype(device: torch.device, enabled: bool) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16 (with a GradScaler); None on CPU."""
    if not enabled or device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def has_conv2d(model: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in model.modules())
