"""Training a model that compression changed, with archopt's own trainer, and evaluating it.

``finetune`` is ``archopt.train.fit`` for a model built elsewhere (pruned, fake-quantized, a
student): the spec's data, loss, optimizer, schedule, augmentation and callbacks apply, the run
directory gets the usual ``history.jsonl`` and ``checkpoints/last.pt``, and a killed fine-tune
resumes from ``last.pt`` to the same result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.spec import load_spec
from archopt.spec.schema import Spec


def finetune_spec(spec: Spec, epochs: int, lr: float | None) -> Spec:
    """The spec a fine-tune trains with: ``epochs`` epochs (no max_steps), optionally a new lr;
    the compress section is dropped (a step's run is a plain run). ``epochs`` 0 keeps train."""
    data = spec.model_dump(mode="json")
    data["compress"] = None
    if epochs:
        data["train"]["epochs"], data["train"]["max_steps"] = epochs, None
    if lr is not None:
        data["train"]["optimizer"]["lr"] = lr
    return load_spec(data, validate_plugins=False)


def finetune(spec: Spec, model: nn.Module, run_dir: Path, quiet: bool = True,
             loss_fn: nn.Module | None = None) -> nn.Module:
    """Train ``model`` for ``spec.train.epochs`` into ``run_dir`` (resuming its last.pt).

    Args:
        spec: the fine-tune spec (see ``finetune_spec``).
        model: the model to train (moved to the spec's device).
        run_dir: an existing directory; ``checkpoints/last.pt`` there is resumed.
        quiet: no progress output.
        loss_fn: replaces the task's loss (distillation).
    """
    import importlib

    from archopt.train import loop, setup
    from archopt.train.checkpoint import load_checkpoint

    fitting = importlib.import_module("archopt.train.fit")  # the module, not the function
    p = fitting.prepare(spec)
    model.to(p.device)
    p.model = model
    p.parts = setup.build_parts(spec, model, p.data.shape)
    if loss_fn is not None:
        p.parts.loss_fn = loss_fn
    p.optimizers, p.schedulers = setup.build_optimizers(spec, model, p.parts.task,
                                                        p.steps_per_epoch, p.total_steps)
    fitting.prepare_run_dir(spec, p.data, None, None, run_dir, 0)
    trainer = fitting.build_trainer(spec, p, run_dir, quiet, None)
    last = run_dir / "checkpoints" / "last.pt"
    if last.is_file():
        trainer.load_state_dict(load_checkpoint(last))
    with fitting.stop_on_signals(trainer):
        loop.run(trainer)
    return trainer.model


@torch.no_grad()
def evaluate_model(spec: Spec, model: nn.Module, data: Any) -> dict[str, Any]:
    """metrics.json's splits for a model: loss and metrics on train, val and test."""
    from archopt.data import Loader
    from archopt.train import loop, setup
    from archopt.train.results import finite

    parts = setup.build_parts(spec, model, data.shape)
    device = next(iter(model.parameters()), torch.zeros(0)).device
    out: dict[str, Any] = {}
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        if split is None or len(split) == 0:
            continue
        loader = Loader(split, spec.data.batch_size, shuffle=False, seed=spec.seed, device=device)
        out[name] = loop.evaluate_split(model, parts.task, parts.loss_fn.to(device), loader,
                                        parts.final_metrics)
    return finite(out)
