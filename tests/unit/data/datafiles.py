"""Writers of small files in every supported format, for the data tests."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """An IDX file of unsigned bytes (type 0x08)."""
    a = np.asarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 0x08, a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape) + a.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


def idx_folder(root: Path, n_train: int = 30, n_test: int = 10, size: int = 6,
               gz: bool = False) -> Path:
    """A folder with the four MNIST file names; labels 0..2."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    write_idx(root / f"train-images-idx3-ubyte{ext}",
              rng.integers(0, 256, (n_train, size, size)), gz)
    write_idx(root / f"train-labels-idx1-ubyte{ext}", np.arange(n_train) % 3, gz)
    write_idx(root / f"t10k-images-idx3-ubyte{ext}", rng.integers(0, 256, (n_test, size, size)), gz)
    write_idx(root / f"t10k-labels-idx1-ubyte{ext}", np.arange(n_test) % 3, gz)
    return root


def ts_text(rows: list[str], classes: str = "a b", dims: int = 1, equal: bool = True,
            length: int | None = 4, regression: bool = False) -> str:
    head = ["# a comment", "@problemName Toy", "@timeStamps false",
            f"@univariate {'true' if dims == 1 else 'false'}", f"@dimensions {dims}",
            f"@equalLength {'true' if equal else 'false'}"]
    if length is not None:
        head.append(f"@seriesLength {length}")
    head.append("@targetLabel true" if regression else f"@classLabel true {classes}")
    return "\n".join([*head, "@data", *rows]) + "\n"


def write_ts_pair(root: Path, train_rows: list[str], test_rows: list[str], **kw) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    (root / "Toy_TRAIN.ts").write_text(ts_text(train_rows, **kw))
    (root / "Toy_TEST.ts").write_text(ts_text(test_rows, **kw))
    return {"name": "ts", "train": str(root / "Toy_TRAIN.ts"), "test": str(root / "Toy_TEST.ts")}


def univariate_rows(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        vals = rng.standard_normal(4) + (i % 2)
        out.append(",".join(f"{v:.3f}" for v in vals) + f":{'ab'[i % 2]}")
    return out


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def toy_csv(path: Path, n: int = 40) -> Path:
    """Columns: a (number), color (text), b (number), label (yes/no)."""
    rows = [[i * 0.5, ["red", "green", "blue"][i % 3], (i % 7) - 3, "yes" if i % 2 else "no"]
            for i in range(n)]
    return write_csv(path, ["a", "color", "b", "label"], rows)


def cifar10_folder(root: Path, n: int = 6) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(1, 6):
        d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        (root / f"data_batch_{i}").write_bytes(pickle.dumps(d))
    d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         b"labels": [int(v) for v in rng.integers(0, 10, n)]}
    (root / "test_batch").write_bytes(pickle.dumps(d))
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
             b"ship", b"truck"]
    (root / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}))
    return root


def cifar100_folder(root: Path, n: int = 8) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for part in ("train", "test"):
        d = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
             b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)]}
        (root / part).write_bytes(pickle.dumps(d))
    meta = {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
            b"coarse_label_names": [f"c{i}".encode() for i in range(20)]}
    (root / "meta").write_bytes(pickle.dumps(meta))
    return root


def image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 6,
                 size: tuple[int, int] = (6, 5), fmt: str = "png") -> Path:
    """Small RGB images; class i is brighter than class i-1."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            a = (rng.integers(0, 100, (*size, 3)) + 100 * c).clip(0, 255).astype(np.uint8)
            Image.fromarray(a).save(root / name / f"{i}.{fmt}")
    return root
