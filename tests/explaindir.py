"""Tiny trained runs with a known answer, for the explain tests (built once per module).

- ``tabular_run``: a CSV of 10 named columns whose label depends on 3 of them only
  (``dose``, ``age``, ``weight``); the other 7 are noise.
- ``patch_run``: 8x8 noise images; class 1 carries a bright 2x2 patch at rows 2-3, columns 4-5
  (a "Clever Hans" shortcut: nothing else tells the classes apart).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

INFORMATIVE = ("dose", "age", "weight")
COLUMNS = ("noise0", "dose", "noise1", "noise2", "age", "noise3", "noise4", "noise5", "weight",
           "noise6")
PATCH = (slice(2, 4), slice(4, 6))   # rows, columns of the planted patch


def _train(folder: Path, spec: dict) -> Path:
    import archopt

    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = archopt.fit(archopt.load_spec(path), out=folder / "run", quiet=True)
    return Path(result["run_dir"])


def tabular_run(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((700, len(COLUMNS)))
    cols = [COLUMNS.index(c) for c in INFORMATIVE]
    label = (x[:, cols] @ np.array([1.0, -1.0, 1.0]) > 0).astype(int)
    rows = [",".join(COLUMNS) + ",label"]
    rows += [",".join(f"{v:.4f}" for v in r) + f",{y}" for r, y in zip(x, label)]
    (folder / "table.csv").write_text("\n".join(rows) + "\n")
    return _train(folder, {
        "name": "ground-truth-table", "seed": 0,
        "data": {"name": "csv", "path": str(folder / "table.csv"), "target": "label",
                 "val_split": 0.1, "batch_size": 64},
        "model": {"name": "mlp", "hidden": [32]},
        "train": {"epochs": 40, "optimizer": {"name": "adam", "lr": 0.01},
                  "regularization": {"l1": 0.0003}}})


def patch_run(folder: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 600
    x = rng.standard_normal((n, 1, 8, 8)).astype(np.float32) * 0.5
    y = rng.integers(0, 2, n)
    x[y == 1, 0, PATCH[0], PATCH[1]] = 3.0
    np.savez(folder / "patch.npz", x_train=x[:500], y_train=y[:500], x_test=x[500:],
             y_test=y[500:])
    return _train(folder, {
        "name": "clever-hans", "seed": 0,
        "data": {"name": "npz", "path": str(folder / "patch.npz"), "val_split": 0.1,
                 "batch_size": 50},
        "model": {"name": "cnn", "channels": [6, 8], "kernel_sizes": 3, "padding": 1,
                  "pool": "max", "global_pool": True},
        "train": {"epochs": 15, "optimizer": {"name": "adam", "lr": 0.01}}})
