"""The training loop, top to bottom: epochs of steps, validation, callbacks.

``run(trainer)`` is all of training. One supervised step (``supervised_step``) is written out
below it: forward under autocast, loss plus explicit L1/L2 penalties, backward through the AMP
scaler, gradient clipping, optimizer and schedule step. Everything optional (early stopping,
checkpoints, history, progress, TensorBoard) is a callback.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from archopt.train import divergence, eager
from archopt.train.callbacks import call
from archopt.train.checkpoint import wait_for_writes
from archopt.train.metrics import compute
from archopt.train.schedulers import is_per_epoch
from archopt.train.tasks import forward
from archopt.train.trainer import Accumulator, Trainer, check_finite


class Interrupted(KeyboardInterrupt):
    """Training was stopped by SIGINT/SIGTERM after saving a checkpoint."""

    def __init__(self, run_dir: Any, epoch: int, step: int) -> None:
        self.run_dir, self.epoch, self.step = run_dir, epoch, step
        super().__init__(f"interrupted at epoch {epoch}, step {step}")


def run(t: Trainer) -> None:
    """Train until ``t.epochs`` epochs or ``t.total_steps`` steps, or a callback stops it."""
    try:
        _run(t)
    finally:  # checkpoints are written in the background: on disk before we return or raise
        wait_for_writes()


def _run(t: Trainer) -> None:
    step_fn = t.task.train_step or supervised_step
    call(t.callbacks, "on_fit_start", t)
    while t.epoch < t.epochs and t.global_step < t.total_steps and not t.should_stop:
        # 1) the epoch's data order; a resumed run skips the batches it has done
        t.train_loader.set_epoch(t.epoch)
        t.train_loader.skip(t.step_in_epoch)
        if t.step_in_epoch == 0:
            t.acc = Accumulator(keep_outputs=bool(t.metrics))
            call(t.callbacks, "on_epoch_start", t)
        start = time.perf_counter()
        # 2) the steps (train mode once per epoch; whoever switches to eval switches back)
        t.net.train()
        for batch in t.train_loader:
            losses, out, target = step_fn(t, batch)
            t.acc.add(losses, out, target, len(batch.x))
            t.step_in_epoch += 1
            t.global_step += 1
            check_finite(t, losses["loss"])
            if t.first_loss is None:
                divergence.note_first_loss(t, float(losses["loss"]))
            call(t.callbacks, "on_batch_end", t)
            if sync_interrupt(t):
                t.acc.time_s += time.perf_counter() - start
                t.save_last()
                raise Interrupted(t.run_dir, t.epoch + 1, t.step_in_epoch)
            if t.global_step >= t.total_steps or t.should_stop:
                break
        t.acc.time_s += time.perf_counter() - start
        # 3) the epoch's history line: train loss and metrics, then validation
        logs: dict[str, Any] = {"epoch": t.epoch + 1, "step": t.global_step}
        logs.update(epoch_summary(t, t.acc, "train_"))
        last = t.epoch + 1 >= t.epochs or t.global_step >= t.total_steps
        if t.val_loader is not None and ((t.epoch + 1) % t.eval_every == 0 or last):
            logs.update(evaluate_split(t.model, t.task, t.loss_fn, t.val_loader, t.metrics,
                                       "val_", t.autocast))
            call(t.callbacks, "on_validation_end", t, logs)
        if t.task.name != "generation":  # adversarial losses rise and fall by design
            divergence.check_epoch(t, logs)  # before the epoch's checkpoint is written
        step_plateau(t, logs)
        logs["lr"] = next(iter(t.optimizers.values())).param_groups[0]["lr"]
        logs["epoch_time_s"] = round(t.acc.time_s, 4)
        # 4) the epoch is done: callbacks log, stop early, checkpoint (the last one)
        t.epoch, t.step_in_epoch, t.last_logs = t.epoch + 1, 0, logs
        t.acc = Accumulator(keep_outputs=bool(t.metrics))
        call(t.callbacks, "on_epoch_end", t, logs)
        sync_stop(t)
    if t.world_size > 1:
        wait_for_writes()
        torch.distributed.barrier()  # rank 0 has written best.pt before anyone reads it
    call(t.callbacks, "on_fit_end", t)


def supervised_step(t: Trainer, batch: Any) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """One optimizer step on one batch; returns the losses, output and target (detached)."""
    x, y = batch.x, batch.y
    if t.augment is not None:
        x, y = t.augment(x, y, t.aug_gen)
    adv = t.adversarial(t, x, y) if t.adversarial is not None else None  # robust.training
    if adv is not None:
        x = adv.x  # pgd, fgsm_rs: the attacked batch; trades: the clean one (+ adv.extra)
    if t.channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    with t.autocast():
        out = forward(t.net, t.model, x, batch.lengths)
        target = t.task.target(x, y)
        loss = t.task.loss(t.loss_fn, t.model, out, target)
        if adv is not None and adv.extra is not None:
            loss = loss + adv.extra(out)
    total = loss + penalty(t) if (t.l1 or t.l2) else loss
    if t.world_size > 1:
        total = total * ddp_scale(t, len(x))
    optimizer_step(t, total)
    return {"loss": loss.detach()}, out, target


def optimizer_step(t: Trainer, loss: torch.Tensor) -> None:
    """Backward ``loss`` through the grad scaler, clip, step the main optimizer and its
    per-step scheduler: what every task's training step ends with."""
    opt = t.optimizers["main"]
    opt.zero_grad(set_to_none=True)
    t.scaler.scale(loss).backward()
    if t.clip_grad_norm is not None:
        t.scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(t.model.parameters(), t.clip_grad_norm)
    eager.step(opt, t.scaler)
    t.scaler.update()
    sched = t.schedulers.get("main")
    if sched is not None and not is_per_epoch(sched):
        sched.step()


def penalty(t: Trainer) -> torch.Tensor:
    """``l1 * sum|w| + l2 * sum w^2`` over weights (biases and norm parameters excluded)."""
    total = torch.zeros((), device=t.device)
    for w in t.penalized:
        if t.l1:
            total = total + t.l1 * w.abs().sum()
        if t.l2:
            total = total + t.l2 * w.pow(2).sum()
    return total


def ddp_scale(t: Trainer, local: int) -> float:
    """DDP averages gradients over ranks; scaling each rank's mean loss by its share of the
    global batch makes N ranks x (B/N) equal 1 rank x B even when shards differ by a row."""
    done = (t.step_in_epoch) * t.batch_size
    global_b = min(t.batch_size, t.n_train - done)
    return local * t.world_size / global_b


def epoch_summary(t: Trainer, acc: Accumulator, prefix: str) -> dict[str, Any]:
    """Mean losses and metrics of the epoch's training batches, over all processes: the
    losses from sums over ranks (loss x examples, examples), the metrics on the outputs of
    every rank together (so counts, confusion matrices and R2 are those of the whole data)."""
    sums, count = acc.loss_sums()
    out, target = acc.gathered()
    if t.world_size > 1:
        from archopt.train.ddp import all_gather

        vec = torch.stack([*sums.values(), count])
        torch.distributed.all_reduce(vec)
        sums, count = dict(zip(sums, vec[:-1])), vec[-1]
        if t.metrics:
            parts = [p for p in all_gather((out, target), t.world_size) if p[0] is not None]
            out = torch.cat([p[0] for p in parts]) if parts else None
            target = torch.cat([p[1] for p in parts]) if parts else None
    logs = {prefix + k: float(v / count) for k, v in sums.items()}
    if out is not None and t.metrics:
        logs.update({prefix + k: v for k, v in compute(t.metrics, out, target).items()})
    return logs


@torch.no_grad()
def evaluate_split(model: nn.Module, task: Any, loss_fn: nn.Module, loader: Any,
                   metrics: list[str], prefix: str = "", autocast: Any = None
                   ) -> dict[str, Any]:
    """Loss and metrics of ``model`` (eval mode) over every batch of ``loader``."""
    was_training = model.training
    model.eval()
    acc = Accumulator(keep_outputs=bool(metrics))
    loader.set_epoch(0)
    try:
        for batch in loader:
            with autocast() if autocast is not None else torch.autocast("cpu", enabled=False):
                losses, out, target = task.eval_batch(model, batch, loss_fn)
            acc.add(losses, out, target, len(batch.x))
    finally:
        model.train(was_training)
    logs = {prefix + k: v for k, v in acc.mean_losses().items()}
    out, target = acc.gathered()
    if out is not None and metrics:
        logs.update({prefix + k: v for k, v in compute(metrics, out, target).items()})
    return logs


def step_plateau(t: Trainer, logs: dict[str, Any]) -> None:
    """A plateau schedule steps once per epoch on its monitored value."""
    for sched in t.schedulers.values():
        if not is_per_epoch(sched):
            continue
        value = logs.get(sched.monitor)
        if value is None:
            value = logs.get(sched.monitor.replace("val_", "train_", 1))
        if value is not None:
            sched.step(value)


def sync_interrupt(t: Trainer) -> bool:
    """Whether to stop after this step. A signal reaches each process at its own moment;
    with several, all stop after the same step once any one was signalled (checked every
    step on CPU, every 25 steps on GPU, where it is a sync)."""
    if t.world_size == 1:
        return t.interrupted
    if t.device.type != "cpu" and t.global_step % 25:
        return False
    flag = torch.tensor([int(t.interrupted)], device=t.device)
    torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
    t.interrupted = bool(flag.item())
    return t.interrupted


def sync_stop(t: Trainer) -> None:
    """Every rank stops when rank 0 says so (early stopping decides on rank 0's logs)."""
    if t.world_size > 1:
        flag = torch.tensor([int(t.should_stop)])
        torch.distributed.broadcast(flag, 0)
        t.should_stop = bool(flag.item())
