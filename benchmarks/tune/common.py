"""Shared by the tuning benchmarks: run a study through ``archopt.tune`` (the real engine,
worker processes included) and read its trials back; the small MNIST-1D space they search."""

from __future__ import annotations

import copy
import csv
import os
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model  # noqa: E402

# an MLP on MNIST-1D (40 samples per signal): learning rate, widths, dropout, batch size
MNIST1D = {
    "name": "bench-tune-mnist1d", "seed": 0,
    "data": {"name": "mnist1d", "val_split": 0.1, "batch_size": 128},
    "model": {"name": "mlp", "hidden": [128, 64]},
    "train": {"epochs": 15, "optimizer": {"name": "adam", "lr": 0.003},
              "metrics": ["accuracy"], "threads": 1},
    "tune": {"space": {
        "train.optimizer.lr": {"float": [0.0003, 0.03], "log": True},
        "model.hidden": {"choice": [[32], [128], [128, 64], [256, 128], [512, 256]]},
        "model.dropout": {"float": [0.0, 0.4], "step": 0.1},
        "data.batch_size": {"choice": [32, 64, 128, 256]}},
        "objectives": {"val_accuracy": "max"}, "sampler": {"name": "random"}, "trials": 16}}


def spec_with(base: dict[str, Any], **tune: Any) -> dict[str, Any]:
    """A copy of ``base`` with ``tune`` keys replaced."""
    spec = copy.deepcopy(base)
    spec["tune"].update(tune)
    return spec


def study(spec: dict[str, Any], out: Path, **kw: Any) -> tuple[dict[str, Any], list[dict]]:
    """Run a study (quiet, no plots); its summary and trials.csv rows."""
    import archopt

    result = archopt.tune(spec, out=out, quiet=True, plots=False, **kw)
    with open(out / "trials.csv") as f:
        return result, list(csv.DictReader(f))


def epochs(rows: list[dict]) -> int:
    """Training epochs actually run by a study's trials."""
    return sum(int(float(r["epochs"])) for r in rows if r["epochs"])


def best(rows: list[dict], key: str = "val_accuracy") -> float:
    return max(float(r[key]) for r in rows if r["state"] == "COMPLETE")


def spread(xs: list[float]) -> str:
    """``median (min-max)``."""
    return f"{statistics.median(xs):.4g} ({min(xs):.4g}-{max(xs):.4g})"


def machine() -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu_model()}, {os.cpu_count()} cores, load average {load}"
