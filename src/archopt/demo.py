"""The demo: the four MNIST-1D paper models, trained with the paper's settings, beside the paper.

Greydanus & Kobak, "Scaling down deep learning with MNIST-1D": Adam, lr 1e-2, batch 100,
6000 steps, no weight decay, the raw (un-normalized) 4000/1000 split. Test accuracy in the paper:
logistic regression 32%, MLP 68%, CNN 94%, GRU 91%.
"""

from __future__ import annotations

from typing import Any

# preset name -> (label, paper test accuracy, paper test accuracy on shuffled sequences)
PAPER: dict[str, tuple[str, float, float]] = {
    "mnist1d_linear": ("logistic regression", 0.32, 0.32),
    "mnist1d_mlp": ("MLP", 0.68, 0.68),
    "mnist1d_cnn": ("CNN", 0.94, 0.56),
    "mnist1d_gru": ("GRU", 0.91, 0.57),
}


def paper_spec(preset: str, steps: int = 6000, shuffle_seq: bool = False) -> dict[str, Any]:
    """The spec that reproduces one row of the paper's table.

    The paper's script takes batches in the data's fixed order (``shuffle: false``): over 4 seeds
    of a hand-written replica of it the CNN reached 93.1-94.6% test accuracy that way and
    92.0-93.7% with a new order every epoch (benchmarks/RESULTS.md).
    One thread: these models have 0.4k-15k parameters, and measured on 2 cores a step of the CNN
    or GRU was 5-20x slower with two intra-op threads than with one (benchmarks/RESULTS.md).
    """
    data: dict[str, Any] = {"name": "mnist1d", "val_split": 0.0, "batch_size": 100,
                            "shuffle": False, "normalize": False}
    if shuffle_seq:
        data["shuffle_seq"] = True
    return {
        "name": f"demo-{preset}" + ("-shuffled" if shuffle_seq else ""),
        "seed": 42,
        "data": data,
        "model": {"name": preset},
        "train": {"max_steps": steps, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"], "threads": 1},
    }


def run_demo(presets: list[str] | None = None, steps: int = 6000, out: str | None = None,
             quiet: bool = True) -> list[dict[str, Any]]:
    """Train each paper model; returns one row per model with measured and paper accuracy."""
    from pathlib import Path

    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.spec import load_spec
    from archopt.train import fit

    rows = []
    for preset in presets or list(PAPER):
        spec = load_spec(paper_spec(preset, steps))
        run_out = str(Path(out) / preset) if out else None
        result = fit(spec, out=run_out, quiet=quiet)
        shape = load_data(spec.data, spec.seed).shape
        params = sum(p.numel() for p in build_model(spec.model, shape).parameters())
        label, paper, _ = PAPER[preset]
        rows.append({"model": preset, "label": label, "params": params,
                     "test_accuracy": result["test"]["accuracy"], "paper_accuracy": paper,
                     "train_time_s": result["train_time_s"], "run_dir": str(result["run_dir"])})
    return rows
