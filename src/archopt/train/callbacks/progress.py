"""Progress on stderr: a rich progress bar on a terminal (epoch, step, loss, ETA), one plain
line per epoch otherwise, nothing when quiet."""

from __future__ import annotations

import sys
import time
from typing import Any

from archopt.registry import CALLBACKS
from archopt.train.callbacks._base import Callback


def epoch_line(logs: dict[str, Any], epochs: int) -> str:
    """``epoch 3/10  step 120  train_loss 0.4121  val_accuracy 0.9130  lr 0.001  1.2s``."""
    parts = [f"epoch {logs['epoch']}/{epochs}", f"step {logs['step']}"]
    for k, v in logs.items():
        if k in ("epoch", "step", "epoch_time_s") or not isinstance(v, float | int):
            continue
        parts.append(f"{k} {v:.4g}")
    parts.append(f"{logs.get('epoch_time_s', 0.0):.1f}s")
    return "  ".join(parts)


def plan_line(trainer: Any) -> str:
    """``training: 3 epochs of 40 steps, 120 steps (... max_steps is reached first ...)``."""
    return f"training: {trainer.plan}" + (f", from step {trainer.global_step}"
                                          if trainer.global_step else "")


class PlainProgress(Callback):
    """One line per epoch (logs, CI, pipes)."""

    key = "progress"

    def on_fit_start(self, trainer: Any) -> None:
        if trainer.plan:
            print(plan_line(trainer), file=sys.stderr, flush=True)

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        print(epoch_line(logs, trainer.epochs), file=sys.stderr, flush=True)


class RichProgress(Callback):
    """A live bar over the steps of the run; the loss shown is refreshed twice a second."""

    key = "progress"

    def __init__(self) -> None:
        self.progress: Any = None
        self._last = 0.0

    def on_fit_start(self, trainer: Any) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
                                 TimeElapsedColumn(), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False)
        if trainer.plan:
            self.progress.console.print(plan_line(trainer), highlight=False)
        self.progress.start()
        self.task = self.progress.add_task("train", total=trainer.total_steps,
                                           completed=trainer.global_step,
                                           epoch=f"{trainer.epoch + 1}/{trainer.epochs}", info="")

    def on_batch_end(self, trainer: Any) -> None:
        now = time.perf_counter()
        if now - self._last < 0.5:  # reading the loss is a sync on GPU: twice a second at most
            self.progress.update(self.task, completed=trainer.global_step)
            return
        self._last = now
        self.progress.update(self.task, completed=trainer.global_step,
                             epoch=f"{trainer.epoch + 1}/{trainer.epochs}",
                             info=f"loss {trainer.acc.running_loss():.4g}")

    def on_epoch_start(self, trainer: Any) -> None:
        self.progress.update(self.task, epoch=f"{trainer.epoch + 1}/{trainer.epochs}")

    def on_epoch_end(self, trainer: Any, logs: dict[str, Any]) -> None:
        self.progress.console.print(epoch_line(logs, trainer.epochs), highlight=False)
        shown = {k: v for k, v in logs.items() if k.startswith(("train_", "val_"))}
        info = "  ".join(f"{k} {v:.4g}" for k, v in list(shown.items())[:4])
        self.progress.update(self.task, completed=trainer.global_step, info=info)

    def on_fit_end(self, trainer: Any) -> None:
        if self.progress is not None:
            self.progress.stop()


@CALLBACKS.register("progress")
def progress(cfg: Any, mode: str = "auto", **_: Any) -> Callback:
    """Progress bar (terminal) or one line per epoch; ``mode``: auto | bar | lines."""
    if mode == "auto":
        mode = "bar" if sys.stderr.isatty() else "lines"
    return RichProgress() if mode == "bar" else PlainProgress()
