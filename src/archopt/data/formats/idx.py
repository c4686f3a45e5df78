"""MNIST-style IDX files (raw or .gz), parsed with numpy: ``{name: idx, path: DIR}``.

An IDX file is: two zero bytes, a type code, the number of dimensions, each dimension as a
big-endian int32, then the values big-endian, row-major.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from archopt.data.dataset import Dataset
from archopt.data.source import existing, from_arrays
from archopt.errors import UserError
from archopt.registry import DATASETS

# type code -> numpy dtype (big-endian)
_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}

_FILES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
          "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed when its name ends in .gz).

    Raises:
        UserError: naming the file when it is not IDX (bad magic number) or is truncated.
    """
    p = existing(path)
    try:
        raw = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
    except (OSError, EOFError) as exc:
        raise UserError(str(p), f"cannot be decompressed ({exc})", "is it a gzip file?") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES or raw[3] == 0:
        raise UserError(str(p), f"not an IDX file (bad magic number {raw[:4].hex() or 'empty'})",
                        "expected MNIST-style IDX data, e.g. train-images-idx3-ubyte")
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(str(p), "truncated IDX file (the header is cut short)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">i4", ndim, 4))
    count = int(np.prod(dims))
    if len(raw) < header + count * dtype.itemsize:
        have = (len(raw) - header) // dtype.itemsize
        raise UserError(str(p), f"truncated IDX file: the header promises {count} values of "
                        f"shape {dims}, the file holds {have}", "download or copy it again")
    return np.frombuffer(raw, dtype, count, header).reshape(dims).astype(dtype.newbyteorder("="))


class IDXConfig(BaseModel):
    """IDX files: a folder holding the four standard names, or each file's path."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = None            # folder with train-images-idx3-ubyte[.gz], ... t10k-...
    train_images: str | None = None    # explicit paths (override the folder's standard names)
    train_labels: str | None = None
    test_images: str | None = None
    test_labels: str | None = None


def _find(cfg: IDXConfig, key: str) -> Path:
    explicit = getattr(cfg, key)
    if explicit:
        return existing(explicit, where=f"data.{key}")
    if cfg.path is None:
        raise UserError(f"data.{key}", "no IDX file given",
                        "set data.path to the folder holding the IDX files, or data." + key)
    folder = existing(cfg.path, "folder", "data.path")
    stem = _FILES[key]
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"),
                 stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise UserError(str(folder), f"no {stem}[.gz] in this folder",
                    f"the folder must hold {', '.join(_FILES.values())} (or their .gz)")


def _images(path: Path) -> np.ndarray:
    x = read_idx(path)
    if x.ndim == 3:
        return x[:, None]                  # (N, 1, H, W)
    if x.ndim == 4:
        return x                           # (N, C, H, W)
    raise UserError(str(path), f"images must be 3-D (N, H, W) or 4-D, got shape {x.shape}")


def _labels(path: Path) -> np.ndarray:
    y = read_idx(path)
    if y.ndim != 1:
        raise UserError(str(path), f"labels must be 1-D (N,), got shape {y.shape}")
    return y.astype(np.int64)


@DATASETS.register("idx", config=IDXConfig)
def idx(cfg: IDXConfig, **_: Any) -> Dataset:
    """MNIST-style IDX images and labels (MNIST, Fashion-MNIST, KMNIST, EMNIST)."""
    paths = {k: _find(cfg, k) for k in _FILES}
    x_tr, y_tr = _images(paths["train_images"]), _labels(paths["train_labels"])
    x_te, y_te = _images(paths["test_images"]), _labels(paths["test_labels"])
    for part, x, y in (("train", x_tr, y_tr), ("test", x_te, y_te)):
        if len(x) != len(y):
            raise UserError(str(paths[f"{part}_labels"]),
                            f"{len(y)} labels but {paths[f'{part}_images'].name} has {len(x)} "
                            "images", "images and labels must come in the same number")
    name = Path(cfg.path).name if cfg.path else "idx"
    return from_arrays(name, "image", "classification", x_tr, y_tr, x_te, y_te,
                       where=str(cfg.path or paths["train_images"]))
