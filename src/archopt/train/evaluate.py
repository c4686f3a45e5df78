"""``evaluate(run_dir)``: re-evaluate a saved run's headline checkpoint (or ``last``) on a split,
with the data checked against what the run was trained on (``check_normalization``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from archopt.errors import UserError
from archopt.spec import load_spec
from archopt.train import loop, results, setup
from archopt.train.checkpoint import checkpoint_path, load_checkpoint


def evaluate(run_dir: str | Path, split: str = "test", checkpoint: str = "headline"
             ) -> dict[str, Any]:
    """Loss and metrics of a saved run's weights on ``split``.

    Args:
        run_dir: a directory written by ``fit``.
        split: ``test``, ``val`` or ``train``.
        checkpoint: ``headline`` (the weights metrics.json's figures come from: ``best.pt``,
            else ``last.pt``), ``best`` or ``last``.
    """
    from archopt.data import DataShape, Loader, load_data
    from archopt.runs import check_run_dir

    path = check_run_dir(run_dir)
    ckpt = checkpoint_path(path, checkpoint)
    spec = load_spec(path / "spec.yaml")
    data = load_data(spec.data, spec.seed)
    if spec.data.pseudo_labels is not None:
        from archopt.transfer.pseudo import apply_pseudo_labels

        data = apply_pseudo_labels(data, spec)
    saved_shape = DataShape.from_dict(json.loads((path / "data_shape.json").read_text()))
    if saved_shape != data.shape:
        raise UserError(str(path / "data_shape.json"), f"the data now has shape {data.shape} "
                        f"but the run was trained on {saved_shape}", "the dataset changed")
    check_normalization(path / "normalization.json", data.normalization)
    state = load_checkpoint(ckpt)
    from archopt.models.structure import rebuild

    model = rebuild(spec, saved_shape, state)  # pruned and int8 runs too
    parts = setup.build_parts(spec, model, saved_shape)
    chosen = getattr(data, split, None)
    if chosen is None or len(chosen) == 0:
        raise UserError(f"--split {split}", "this run's data has no such split",
                        "use test, or train; val needs data.val_split > 0")
    device = setup.resolve_device(spec.device)
    model.to(device)
    loader = Loader(chosen, spec.data.batch_size, shuffle=False, seed=spec.seed, device=device)
    start = time.perf_counter()
    result = loop.evaluate_split(model, parts.task, parts.loss_fn.to(device), loader,
                                 parts.final_metrics)
    where = {"epoch": int(state.get("epoch", 0)), "step": int(state.get("global_step", 0))}
    return results.finite({"split": split, **result, "checkpoint": str(ckpt), **where,
                           "examples": len(chosen),
                           "eval_time_s": round(time.perf_counter() - start, 3)})


def check_normalization(path: Path, now: dict[str, Any]) -> None:
    """The statistics load_data recomputes must be the ones the run was trained with."""
    saved = json.loads(path.read_text()) if path.is_file() else {}
    same = saved.keys() == now.keys() and all(
        np.shape(saved[k]) == np.shape(now[k])
        and np.allclose(saved[k], now[k], rtol=1e-5, atol=1e-7) for k in saved)
    if not same:
        raise UserError(str(path), "the data's normalization differs from the one the run was "
                        "trained with", "the dataset changed since training; re-train the run")
