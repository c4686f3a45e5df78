"""Early stopping: stop when a monitored history value has not improved for ``patience``
epochs. Its monitor also chooses the best checkpoint, whose weights are the run's headline
(``restore_best: false``: the last epoch's are; see ``archopt.train.results``)."""

from __future__ import annotations

import math
from typing import Any

from archopt.registry import CALLBACKS
from archopt.spec.schema import EarlyStopping as EarlyStoppingConfig
from archopt.train.callbacks._base import Callback
from archopt.train.metrics import monitor_mode


def improved(value: float, best: float, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` in direction ``mode``."""
    if math.isnan(value):
        return False
    return value < best - min_delta if mode == "min" else value > best + min_delta


class EarlyStopping(Callback):
    """Sets ``trainer.should_stop`` after ``patience`` epochs without improvement."""

    key = "early_stopping"

    def __init__(self, cfg: EarlyStoppingConfig) -> None:
        self.monitor, self.patience, self.min_delta = cfg.monitor, cfg.patience, cfg.min_delta
        self.mode = monitor_mode(cfg.monitor, cfg.mode)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch, self.wait, self.stopped_epoch = 0, 0, 0

    def on_fit_start(self, trainer: Any) -> None:
        if self.stopped_epoch:  # a resumed run that had already stopped stays stopped
            trainer.should_stop = True

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None:  # not validated this epoch (eval_every > 1)
            return
        if improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = float(value), int(logs["epoch"]), 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = int(logs["epoch"])
            trainer.should_stop = True

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])


@CALLBACKS.register("early_stopping", config=EarlyStoppingConfig)
def early_stopping(cfg: EarlyStoppingConfig, **_: Any) -> EarlyStopping:
    """Stop when the monitored value stops improving (``train.early_stopping``)."""
    return EarlyStopping(cfg)
