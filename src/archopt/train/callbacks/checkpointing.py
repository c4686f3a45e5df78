"""Checkpointing: ``last.pt`` with the whole training state, ``best.pt`` with the weights of the
best epoch so far by the monitored value (none when ``monitor`` is None: a GAN's losses do not
rank its generators).

``last.pt`` is written when ``every_s`` seconds have passed since the last one (checked after
every step, so also mid-epoch), every ``every_steps`` steps, and at the end of the run
(``every_s: 0``: at the end of every epoch). Serializing a checkpoint every epoch costs a run of
short epochs (MNIST-1D: 40 steps) several percent; on a time interval it costs nothing, and a
killed run still resumes exactly, from at most ``every_s`` seconds back. Ctrl-C and SIGTERM
always save (the loop's ``Interrupted``). ``best.pt`` is written with ``last.pt`` whenever the
best epoch changed; the best weights are kept in memory meanwhile (``best_weights``), so the
run's headline metrics need no file.
"""

from __future__ import annotations

import math
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from archopt.registry import CALLBACKS
from archopt.train.callbacks._base import Callback
from archopt.train.callbacks.early_stopping import improved
from archopt.train.checkpoint import load_checkpoint, wait_for_writes
from archopt.train.metrics import monitor_mode


class CheckpointConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monitor: str | None = "val_loss"                   # history key that decides best.pt
    mode: str = "auto"                                 # min | max | auto
    every_steps: int | None = Field(None, gt=0)        # also save last.pt every N steps
    every_s: float = Field(60.0, ge=0.0)               # save last.pt this often (0: every epoch)


class Checkpoint(Callback):
    """Writes ``checkpoints/last.pt`` and ``checkpoints/best.pt`` (rank 0 only)."""

    key = "checkpoint"

    def __init__(self, cfg: CheckpointConfig) -> None:
        self.monitor, self.every_steps, self.every_s = cfg.monitor, cfg.every_steps, cfg.every_s
        self._saved_at = time.monotonic()
        self.mode = monitor_mode(cfg.monitor, cfg.mode) if cfg.monitor else "min"
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.best_step = 0, 0
        self.best_weights: dict[str, Any] | None = None  # a copy, on the model's device
        self._best_saved = True                          # best.pt holds best_weights

    def on_fit_start(self, trainer: Any) -> None:
        self._saved_at = time.monotonic()

    def on_batch_end(self, trainer: Any) -> None:
        if (self.every_steps and trainer.global_step % self.every_steps == 0) or \
                (self.every_s and time.monotonic() - self._saved_at >= self.every_s):
            self.save(trainer)

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor) if self.monitor else None
        if value is not None and improved(float(value), self.best, self.mode):
            self.best, self.best_epoch = float(value), int(logs["epoch"])
            self.best_step = int(logs["step"])
            self.best_weights = {k: v.detach().clone()
                                 for k, v in trainer.model.state_dict().items()}
            self._best_saved = False
        ending = (trainer.epoch >= trainer.epochs or trainer.global_step >= trainer.total_steps
                  or trainer.should_stop)
        if ending or not self.every_s or time.monotonic() - self._saved_at >= self.every_s:
            self.save(trainer)

    def save(self, trainer: Any) -> None:
        """``last.pt``, and ``best.pt`` first when the best epoch changed since the last save."""
        if not self._best_saved and self.best_weights is not None:
            trainer.save_best(self.monitor, self.best, self.best_weights, self.best_epoch,
                              self.best_step)
            self._best_saved = True
        trainer.save_last()
        self._saved_at = time.monotonic()

    def best_state(self, trainer: Any) -> dict[str, Any] | None:
        """The best epoch's weights (from memory, or ``best.pt`` after a resume); None if no
        epoch was chosen."""
        if self.best_epoch == 0:
            return None
        if self.best_weights is None and trainer.run_dir is not None:
            wait_for_writes()
            path = trainer.run_dir / "checkpoints" / "best.pt"
            if path.is_file():
                self.best_weights = load_checkpoint(path)["model"]
        return self.best_weights

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "best_step": self.best_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.best_step = int(state.get("best_step", 0))
        self.best_weights, self._best_saved = None, True


@CALLBACKS.register("checkpoint", config=CheckpointConfig)
def checkpoint(cfg: CheckpointConfig, **_: Any) -> Checkpoint:
    """Save last.pt and best.pt in the run directory."""
    return Checkpoint(cfg)
