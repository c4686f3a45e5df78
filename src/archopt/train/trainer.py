"""The ``Trainer``: everything the loop trains with and where it stands, and its checkpoint.

It is plain state (a dataclass); the loop in ``loop.py`` moves it forward. ``state_dict``
gathers everything a resumed run needs to continue bit for bit: weights, optimizer and schedule
states, the AMP scaler, each callback's state, every RNG, the position in the data order and
the epoch's partial sums. With several processes, what differs between ranks (their RNGs and
the partial sums of their shards) is gathered into the checkpoint rank by rank: a resume on as
many processes restores each rank's own, on another number the partial sums are merged.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.train.checkpoint import (
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from archopt.train.divergence import diverged
from archopt.train.schedulers import scale_lr


@dataclass(eq=False)
class Accumulator:
    """What an epoch has seen so far: per-batch losses and sizes, outputs and targets."""

    keep_outputs: bool = True
    losses: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    outputs: list[torch.Tensor] = field(default_factory=list)
    targets: list[torch.Tensor] = field(default_factory=list)
    time_s: float = 0.0

    def add(self, losses: dict[str, torch.Tensor], out: torch.Tensor | None,
            target: torch.Tensor | None, n: int) -> None:
        # appends only: no per-batch sync with the device
        for k, v in losses.items():
            self.losses.setdefault(k, []).append(v.detach())
        self.sizes.append(n)
        if self.keep_outputs and out is not None:
            self.outputs.append(out.detach())
            self.targets.append(target.detach())

    def running_loss(self) -> float:
        return float(self.losses["loss"][-1]) if self.losses.get("loss") else float("nan")

    def mean_losses(self) -> dict[str, float]:
        """Example-weighted mean of each loss over the batches so far."""
        sums, count = self.loss_sums()
        return {k: float(v / count) for k, v in sums.items()}

    def loss_sums(self) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(sum of loss x examples per loss, number of examples): what ranks add up."""
        w = torch.tensor(self.sizes, dtype=torch.float64)
        return ({k: (torch.stack(v).double().cpu() * w).sum() for k, v in self.losses.items()},
                w.sum())

    def gathered(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """All outputs (float) and targets so far, on CPU."""
        if not self.outputs:
            return None, None
        return (torch.cat(self.outputs).float().cpu(), torch.cat(self.targets).cpu())

    def state_dict(self) -> dict[str, Any]:
        out, tgt = self.gathered()
        return {"losses": {k: torch.stack(v).cpu() for k, v in self.losses.items()},
                "sizes": list(self.sizes), "outputs": out, "targets": tgt, "time_s": self.time_s}

    def load_state_dict(self, state: dict[str, Any], device: torch.device) -> None:
        self.losses = {k: list(v.to(device).unbind()) for k, v in state["losses"].items()}
        self.sizes, self.time_s = list(state["sizes"]), float(state["time_s"])
        self.outputs = [state["outputs"]] if state["outputs"] is not None else []
        self.targets = [state["targets"]] if state["targets"] is not None else []


def merge_accumulators(states: list[dict[str, Any]]) -> dict[str, Any]:
    """One accumulator state holding the batches of all of ``states`` (ranks, in order)."""
    keys = {k for s in states for k in s["losses"]}
    losses = {k: torch.cat([s["losses"][k] for s in states if k in s["losses"]]) for k in keys}
    outs = [s["outputs"] for s in states if s["outputs"] is not None]
    tgts = [s["targets"] for s in states if s["targets"] is not None]
    return {"losses": losses, "sizes": [n for s in states for n in s["sizes"]],
            "outputs": torch.cat(outs) if outs else None,
            "targets": torch.cat(tgts) if tgts else None,
            "time_s": max(s["time_s"] for s in states)}


def empty_accumulator() -> dict[str, Any]:
    return {"losses": {}, "sizes": [], "outputs": None, "targets": None, "time_s": 0.0}


@dataclass(eq=False)
class Trainer:
    """What is trained, with what, and the position of the run."""

    task: Any                                  # a Task from tasks.py
    model: nn.Module                           # the model (weights, eval, checkpoints)
    net: nn.Module                             # what the step calls: model, DDP or compiled
    loss_fn: nn.Module
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any]
    scaler: Any                                # torch.amp.GradScaler (disabled without fp16)
    train_loader: Any
    val_loader: Any | None
    callbacks: list
    device: torch.device
    metrics: list[str]                         # scalar metrics logged every epoch
    epochs: int
    total_steps: int
    steps_per_epoch: int
    n_train: int
    batch_size: int
    augment: Any = None                        # fn(x, y, generator) -> (x, y) or None
    adversarial: Any = None                    # train.adversarial: fn(t, x, y) -> Attacked
    aug_gen: torch.Generator | None = None
    autocast_dtype: torch.dtype | None = None  # bf16/fp16 on CUDA with AMP
    channels_last: bool = False
    clip_grad_norm: float | None = None
    l1: float = 0.0
    l2: float = 0.0
    penalized: list[torch.Tensor] = field(default_factory=list)  # weights (no biases/norms)
    eval_every: int = 1
    run_dir: Path | None = None
    rank: int = 0
    world_size: int = 1
    spec_hash: str = ""
    threads: int = 0                           # CPU threads chosen (kept by a resumed run)
    plan: str = ""                             # how long the run is, and why (progress)
    # where the run stands
    epoch: int = 0                             # epochs completed
    step_in_epoch: int = 0                     # batches of the current epoch done
    global_step: int = 0                       # optimizer steps done
    should_stop: bool = False
    interrupted: bool = False
    acc: Accumulator = field(default_factory=Accumulator)
    last_logs: dict[str, Any] = field(default_factory=dict)
    first_loss: float | None = None            # the scale an exploding loss is measured by

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(),
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "scaler": self.scaler.state_dict(),
            "callbacks": {cb.key: cb.state_dict() for cb in self.callbacks},
            "epoch": self.epoch, "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "spec_hash": self.spec_hash, "first_loss": self.first_loss,
            # the spec's learning rates: a resume with another train.optimizer.lr rescales
            "base_lrs": {k: float(o.defaults["lr"]) for k, o in self.optimizers.items()},
            **self.rank_state(), **self.structure(),
        }

    def structure(self) -> dict[str, Any]:
        """The layer widths of a model started from a pruned run (``model.init``), which a
        rebuild from the spec needs (``models.structure.rebuild``); else nothing."""
        s = getattr(self.model, "init_structure", None)
        return {"structure": s} if s else {}

    def rank_state(self) -> dict[str, Any]:
        """What differs between ranks: RNGs, the epoch's partial sums, the thread count."""
        return {"rng": rng_state(self.aug_gen), "accumulator": self.acc.state_dict(),
                "threads": self.threads}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        for k, o in self.optimizers.items():  # a new train.optimizer.lr on resume
            old = state.get("base_lrs", {}).get(k)
            if old and float(o.defaults["lr"]) != old:
                scale_lr(o, self.schedulers.get(k), float(o.defaults["lr"]) / old)
        self.first_loss = state.get("first_loss")
        self.scaler.load_state_dict(state["scaler"])
        for cb in self.callbacks:
            if cb.key in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][cb.key])
        self.epoch, self.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
        self.global_step = int(state["global_step"])
        mine = self.own_rank_state(state)
        set_rng_state(mine["rng"], self.aug_gen)
        self.acc.load_state_dict(mine["accumulator"], self.device)

    def own_rank_state(self, state: dict[str, Any]) -> dict[str, Any]:
        """This rank's part of a checkpoint. Saved by as many ranks: its own. Else the
        partial sums of all saved ranks go to rank 0 (the others start empty: an epoch's
        figures are sums over ranks, so the totals stay the same) and RNGs are reused."""
        saved = state.get("ranks") or [{k: state.get(k) for k in ("rng", "accumulator",
                                                                   "threads")}]
        if len(saved) == self.world_size:
            return saved[self.rank]
        acc = (merge_accumulators([s["accumulator"] for s in saved]) if self.rank == 0
               else empty_accumulator())
        return {"rng": saved[self.rank % len(saved)]["rng"], "accumulator": acc}

    def save_last(self) -> None:
        """Write ``last.pt`` (rank 0), with every rank's own state (all ranks call this)."""
        if self.acc.losses.get("loss"):  # never save weights that a NaN step has reached
            check_finite(self, self.acc.losses["loss"][-1], force=True)
        ranks = None
        if self.world_size > 1:
            from archopt.train.ddp import gather_to_main

            ranks = gather_to_main(self.rank_state(), self.rank, self.world_size)
        if self.is_main and self.run_dir is not None:
            state = self.state_dict()
            if ranks is not None:
                state["ranks"] = ranks
            save_checkpoint(self.run_dir / "checkpoints" / "last.pt", state, background=True)

    def save_best(self, monitor: str | None, value: float, weights: dict[str, Any],
                  epoch: int, step: int) -> None:
        """``best.pt``: ``weights`` (the best epoch's), where they stand and why they are best."""
        if self.is_main and self.run_dir is not None:
            save_checkpoint(self.run_dir / "checkpoints" / "best.pt",
                            {"model": weights, "epoch": epoch, "global_step": step,
                             "monitor": monitor, "value": value, "spec_hash": self.spec_hash,
                             **self.structure()},
                            background=True)




def check_finite(t: Trainer, loss: torch.Tensor, force: bool = False) -> None:
    """Stop with a clear message on a NaN/inf loss (a sync: once per step on CPU, every 25 on
    GPU, and before every checkpoint); the last checkpoint on disk is the last good one."""
    if not force and t.device.type != "cpu" and t.global_step % 25:
        return
    if not bool(torch.isfinite(loss)):
        raise diverged(t, f"epoch {t.epoch + 1}, step {t.global_step}",
                       f"the training loss became {float(loss)}")
