"""Divergence: a run whose loss became NaN/inf or exploded stops with a hint that leads on.

Checked after every step (the training loss, in ``loop.check_finite``) and after every epoch
(the epoch's mean training loss and the validation loss, here). A loss is exploding when it is
``EXPLODE`` times the run's first training loss (with a floor, so a near-zero start does not
count): a model with batch norm at a huge learning rate can train on with finite but
meaningless numbers (a test loss of 1e13) that no NaN check sees. The hint says how to go on
from the last good checkpoint with a lower learning rate (``--resume`` accepts a changed
``train.optimizer.lr``), or how to start again when no epoch has finished.
"""

from __future__ import annotations

import math
from typing import Any

from archopt.errors import UserError

EXPLODE = 1e4          # a loss this many times the first one has diverged
FLOOR = 1e-2           # ... measured against at least this first loss


def hint(t: Any) -> str:
    """How to go on: resume the last good checkpoint with a 10x lower lr, or start again."""
    opts = getattr(t, "optimizers", None) or {}
    opt = opts.get("main") or next(iter(opts.values()), None)
    lower = f"{opt.defaults['lr'] / 10:g}" if opt is not None else "0.1x"
    run_dir = getattr(t, "run_dir", None)
    last = run_dir / "checkpoints" / "last.pt" if run_dir is not None else None
    if last is not None and last.is_file():
        return (f"the last good checkpoint is kept: continue it with a lower learning rate, "
                f"`archopt train --resume {run_dir} --set train.optimizer.lr={lower}` "
                "(or --set train.clip_grad_norm=1.0)")
    return (f"no good epoch was saved yet: start again with a lower train.optimizer.lr "
            f"(e.g. {lower}) or train.clip_grad_norm: 1.0")


def diverged(t: Any, where: str, what: str) -> UserError:
    return UserError(where, what, hint(t))


def note_first_loss(t: Any, loss: float) -> None:
    """Remember the run's first training loss (the scale that 'exploding' is measured by)."""
    if t.first_loss is None and math.isfinite(loss):
        t.first_loss = loss


def check_epoch(t: Any, logs: dict[str, Any]) -> None:
    """UserError when the epoch's mean training loss or the validation loss is NaN/inf, or
    has exploded to ``EXPLODE`` times the first training loss."""
    where = f"epoch {logs['epoch']}"
    for key in ("train_loss", "val_loss"):
        value = logs.get(key)
        if value is None:
            continue
        name = "validation loss" if key == "val_loss" else "mean training loss"
        if not math.isfinite(value):
            raise diverged(t, where, f"the {name} became {value}")
        if t.first_loss is not None and value > EXPLODE * max(t.first_loss, FLOOR):
            raise diverged(t, where, f"the {name} exploded to {value:.3g} (it started at "
                           f"{t.first_loss:.3g}): the training has diverged")
