"""CIFAR-10 / CIFAR-100 "python version" batch folders (pickled dicts).

CIFAR-10: ``data_batch_1`` .. ``data_batch_5``, ``test_batch``, ``batches.meta``.
CIFAR-100: ``train``, ``test``, ``meta`` (``fine_labels`` or ``coarse_labels``).
``b'data'`` is (N, 3072) uint8, each row the red, green then blue 32x32 planes.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from archopt.data.dataset import Dataset
from archopt.data.source import existing, from_arrays
from archopt.errors import UserError
from archopt.registry import DATASETS


class CIFARConfig(BaseModel):
    """A CIFAR python batch folder (``cifar-10-batches-py`` or ``cifar-100-python``)."""

    model_config = ConfigDict(extra="forbid")

    path: str                                          # the folder
    labels: Literal["fine", "coarse"] = "fine"         # CIFAR-100's 100 or 20 classes


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            d = pickle.load(f, encoding="bytes")
    except Exception as exc:
        raise UserError(str(path), f"not a CIFAR python batch ({type(exc).__name__}: {exc})",
                        "use the 'python version' of CIFAR") from None
    if not isinstance(d, dict):
        raise UserError(str(path), "not a CIFAR python batch (not a pickled dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}


def _batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(path)
    if "data" not in d or label_key not in d:
        raise UserError(str(path), f"has no 'data' or '{label_key}' entry",
                        "use the 'python version' of CIFAR")
    data = np.asarray(d["data"], dtype=np.uint8)
    labels = np.asarray(d[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072:
        raise UserError(str(path), f"data has shape {data.shape}, expected (N, 3072)")
    if len(data) != len(labels):
        raise UserError(str(path), f"{len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels       # (N, C, H, W)


@DATASETS.register("cifar", config=CIFARConfig)
def cifar(cfg: CIFARConfig, **_: Any) -> Dataset:
    """CIFAR-10 or CIFAR-100 from the python batch files."""
    folder = existing(cfg.path, "folder", "data.path")
    if (folder / "data_batch_1").is_file():                      # CIFAR-10
        train_files = sorted(folder.glob("data_batch_*"))
        test_file, meta_file, key, names_key = (folder / "test_batch", folder / "batches.meta",
                                                "labels", "label_names")
    elif (folder / "train").is_file():                           # CIFAR-100
        train_files = [folder / "train"]
        test_file, meta_file, key = folder / "test", folder / "meta", f"{cfg.labels}_labels"
        names_key = f"{cfg.labels}_label_names"
    else:
        raise UserError(str(folder), "no CIFAR batches here (data_batch_1 ... or train/test)",
                        "give the cifar-10-batches-py or cifar-100-python folder")
    parts = [_batch(existing(f), key) for f in train_files]
    x_tr, y_tr = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    x_te, y_te = _batch(existing(test_file), key)
    names = None
    if meta_file.is_file():
        meta = _unpickle(meta_file)
        if names_key in meta:
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[names_key]]
    if names is None or len(names) <= max(int(y_tr.max()), int(y_te.max())):
        names = [str(i) for i in range(max(int(y_tr.max()), int(y_te.max())) + 1)]
    return from_arrays(folder.name, "image", "classification", x_tr, y_tr, x_te, y_te, names,
                       where=str(folder))
