"""TensorBoard event files in ``RUN_DIR/tensorboard`` (only when tensorboard is installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from archopt.registry import CALLBACKS
from archopt.train.callbacks._base import Callback


def available() -> bool:
    """Whether the optional ``tensorboard`` package can be imported."""
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoard(Callback):
    """Writes every numeric history value as a scalar, at the epoch's global step."""

    key = "tensorboard"

    def __init__(self, log_dir: Path) -> None:
        self.log_dir, self.writer = log_dir, None

    def on_fit_start(self, trainer: Any) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # flushed every 10 s and at the end, not every epoch (a flush costs a small epoch's time)
        self.writer = SummaryWriter(str(self.log_dir), purge_step=trainer.global_step or None,
                                    flush_secs=10)

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        for k, v in logs.items():
            if k not in ("epoch", "step") and isinstance(v, int | float):
                self.writer.add_scalar(k, v, logs["step"])

    def on_fit_end(self, trainer: Any) -> None:
        if self.writer is not None:
            self.writer.close()


@CALLBACKS.register("tensorboard")
def tensorboard(cfg: Any, run_dir: Path, **_: Any) -> TensorBoard:
    """TensorBoard scalars of every history value (needs the tensorboard package)."""
    return TensorBoard(run_dir / "tensorboard")
