"""A run's final figures, written to ``metrics.json``: the headline and the last epoch's.

**The headline is the best checkpoint** (``checkpoints/best.pt``), as Lightning's
``ckpt_path="best"`` and Keras' ``ModelCheckpoint(save_best_only=True)``: the epoch with the best
monitored value, ``train.early_stopping.monitor`` when set, else ``val_loss`` on the validation
split. Without a validation split there is nothing held out to choose by, and a GAN's losses do
not rank its generators: then the headline is the last epoch (as Lightning's ModelCheckpoint
with no monitor), and ``headline.chosen_by`` says so. ``archopt eval RUN_DIR`` evaluates the
same weights and prints the same figures; ``archopt eval RUN_DIR --checkpoint last`` gives the
last epoch's.

Layout of ``metrics.json`` (``"format": 2``)::

    {
      "format": 2,
      "headline": {
        "checkpoint": "best",          # or "last": which weights train/val/test below are
        "epoch": 12, "step": 480,      # where those weights stand
        "monitor": "val_loss",         # the history key that chose them (null for "last")
        "mode": "min", "value": 0.21,  # its direction and the chosen epoch's value
        "chosen_by": "lowest val_loss on the validation split"   # one sentence for people
      },
      "train": {"loss": ..., "accuracy": ...},   # headline weights (see train_figures)
      "val":   {"loss": ..., "accuracy": ..., "confusion_matrix": [[...]]},  # if a val split
      "test":  {"loss": ..., "accuracy": ..., "confusion_matrix": [[...]]},  # if a test split
      "train_figures": "running",      # "running": the epoch's running means as it trained
                                       #   (train mode, weights moving; free);
                                       # "full_pass": the weights re-evaluated on the whole
                                       #   training split (train.final_train_pass: true)
      "last": {"epoch": 20, "step": 800, "train": {...}, "val": {...}, "test": {...}},
      "epochs": 20,                    # epochs done (the last may be partial: max_steps)
      "steps": 800,                    # optimizer steps done
      "train_time_s": 12.3,            # time in training epochs (no set-up, no final eval)
      "threads": 1                     # CPU threads per process (train.threads, or measured)
    }

``val`` and ``test`` are always full passes in eval mode. Ranking runs (tuning) should read
``val`` (or ``test``) of the headline: ``metrics["val"]["accuracy"]``.
"""

from __future__ import annotations

import math
from typing import Any

from archopt.train import loop
from archopt.train.trainer import Trainer

FORMAT = 2
SPLITS = ("train", "val", "test")


def headline_info(cb: Any, best: bool, use_best: bool, generation: bool,
                  last: dict[str, Any]) -> dict[str, Any]:
    """The ``headline`` entry: which weights, where they stand and why."""
    if not best:
        if not use_best:
            why = "the last epoch: train.early_stopping.restore_best is false"
        elif cb is None or cb.monitor is None:
            why = ("the last epoch: a GAN's losses do not rank its generators" if generation
                   else "the last epoch: there is no validation split to choose the best by "
                   "(set data.val_split > 0)")
        else:
            why = f"the last epoch: no epoch had a finite {cb.monitor}"
        return {"checkpoint": "last", "epoch": last["epoch"], "step": last["step"],
                "monitor": None, "mode": None, "value": None, "chosen_by": why}
    word = "lowest" if cb.mode == "min" else "highest"
    why = (f"{word} {cb.monitor} on the validation split" if cb.monitor.startswith("val_")
           else f"{word} {cb.monitor} (the epoch's running training figure)")
    return {"checkpoint": "best", "epoch": cb.best_epoch, "step": cb.best_step,
            "monitor": cb.monitor, "mode": cb.mode, "value": cb.best, "chosen_by": why}


def running_figures(history: list[dict[str, Any]], epoch: int) -> dict[str, Any]:
    """The ``train_*`` values of epoch ``epoch``'s history line, without the prefix."""
    line = next((h for h in history if h.get("epoch") == epoch), {})
    return {k[len("train_"):]: v for k, v in line.items() if k.startswith("train_")}


def evaluate_splits(t: Trainer, weights: dict[str, Any], loaders: dict[str, Any],
                    metrics: list[str], loss_fn: Any) -> dict[str, dict[str, Any]]:
    """Loss and metrics of ``weights`` on each loader (full passes, eval mode, full precision,
    as ``archopt eval`` does)."""
    t.model.load_state_dict(weights)
    return {name: loop.evaluate_split(t.model, t.task, loss_fn, loader, metrics)
            for name, loader in loaders.items()}


def final_metrics(t: Trainer, loaders: dict[str, Any], metrics: list[str],
                  full_train_pass: bool = False, use_best: bool = True) -> dict[str, Any]:
    """metrics.json's contents (see the module docstring).

    Args:
        t: the trainer after ``loop.run``; its model ends holding the headline weights.
        loaders: ``train``, ``val``, ``test`` loaders (unshuffled) of the splits that exist.
        metrics: the metrics to compute (with non-scalar ones such as the confusion matrix).
        full_train_pass: re-evaluate the training split (else the running figures).
        use_best: the headline is the best checkpoint (False: the last epoch, as
            ``train.early_stopping.restore_best: false`` asks).
    """
    history = next((cb.lines for cb in t.callbacks if cb.key == "history"), [])
    cb = next((c for c in t.callbacks if c.key == "checkpoint"), None)
    last_epoch = int(history[-1]["epoch"]) if history else t.epoch
    last_info = {"epoch": last_epoch, "step": t.global_step}
    last_weights = {k: v.detach().clone() for k, v in t.model.state_dict().items()}
    best = cb.best_state(t) if cb is not None and use_best else None
    held_out = {k: v for k, v in loaders.items() if k != "train" or full_train_pass}
    # 1) the last epoch's weights
    last = {**last_info, "train": running_figures(history, last_epoch)}
    last.update(evaluate_splits(t, last_weights, held_out, metrics, t.loss_fn))
    # 2) the headline: the best epoch's weights (the same figures when it is the last epoch)
    head = headline_info(cb, best is not None, use_best, t.task.name == "generation",
                         last_info)
    if best is None or head["epoch"] == last_epoch:
        figures = {s: last[s] for s in SPLITS if s in last}
        if best is not None:
            t.model.load_state_dict(best)
    else:
        figures = {"train": running_figures(history, head["epoch"])}
        figures.update(evaluate_splits(t, best, held_out, metrics, t.loss_fn))
    out: dict[str, Any] = {"format": FORMAT, "headline": head, **figures,
                           "train_figures": "full_pass" if full_train_pass else "running",
                           "last": last, "epochs": t.epoch, "steps": t.global_step,
                           "train_time_s": round(sum(h.get("epoch_time_s", 0.0)
                                                     for h in history), 3)}
    return finite(out)


def finite(obj: Any) -> Any:
    """NaN/inf become None so that metrics.json is valid JSON."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def summary(result: dict[str, Any]) -> str:
    """One line for people: which weights the headline figures are and why."""
    head = result.get("headline") or {}
    epochs = result.get("epochs")
    if head.get("checkpoint") == "best":
        return (f"headline: best checkpoint, epoch {head['epoch']} of {epochs} "
                f"({head['chosen_by']}: {head['value']:.4g}); the last epoch's figures are "
                "under 'last' in metrics.json")
    return f"headline: {head.get('chosen_by', 'the last epoch')} (epoch {epochs})"

