"""Checkpointing: ``last.pt`` every epoch (and every ``checkpoint_every_steps`` steps) with the
whole training state, ``best.pt`` with the weights of the best epoch so far."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from archopt.registry import CALLBACKS
from archopt.train.callbacks._base import Callback
from archopt.train.callbacks.early_stopping import improved
from archopt.train.metrics import monitor_mode


class CheckpointConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monitor: str = "val_loss"                          # history key that decides best.pt
    mode: str = "auto"                                 # min | max | auto
    every_steps: int | None = Field(None, gt=0)        # also save last.pt every N steps


class Checkpoint(Callback):
    """Writes ``checkpoints/last.pt`` and ``checkpoints/best.pt`` (rank 0 only)."""

    key = "checkpoint"

    def __init__(self, cfg: CheckpointConfig) -> None:
        self.monitor, self.every_steps = cfg.monitor, cfg.every_steps
        self.mode = monitor_mode(cfg.monitor, cfg.mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0

    def on_batch_end(self, trainer: Any) -> None:
        if self.every_steps and trainer.global_step % self.every_steps == 0:
            trainer.save_last()

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is not None and improved(float(value), self.best, self.mode):
            self.best, self.best_epoch = float(value), int(logs["epoch"])
            trainer.save_best(self.monitor, self.best)
        trainer.save_last()

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])


@CALLBACKS.register("checkpoint", config=CheckpointConfig)
def checkpoint(cfg: CheckpointConfig, **_: Any) -> Checkpoint:
    """Save last.pt and best.pt in the run directory."""
    return Checkpoint(cfg)
