"""Helpers shared by every dataset builder: arrays to a checked ``Dataset``, label encoding,
file look-ups and fixed test splits.

A builder (registered in ``DATASETS``) returns a raw ``Dataset``: train and test only, not
normalized. ``archopt.data.load.load_data`` carves the validation split and normalizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archopt.data.dataset import Dataset, Kind, Split, Task
from archopt.errors import UserError

# The seed of every fixed train/test split: independent of the spec's seed, so the test set of a
# dataset never changes between experiments.
TEST_SPLIT_SEED = 20240101

KIND_BY_NDIM: dict[int, Kind] = {2: "tabular", 3: "sequence", 4: "image"}


def existing(path: str | Path, what: str = "file", where: str | None = None) -> Path:
    """``path`` as a Path; a UserError naming it when it does not exist."""
    p = Path(path).expanduser()
    if not p.exists():
        raise UserError(where or str(p), f"{what} not found: {p}", "check the path")
    if what == "folder" and not p.is_dir():
        raise UserError(where or str(p), f"not a folder: {p}",
                        "give the folder that holds the files")
    if what == "file" and not p.is_file():
        raise UserError(where or str(p), f"not a file: {p}", "give the path of a file")
    return p


def encode_labels(
    y_train: Sequence[Any] | np.ndarray, y_test: Sequence[Any] | np.ndarray,
    classes: Sequence[Any] | None = None, where: str = "labels",
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Class labels of any type -> int64 indices and class names.

    ``classes`` fixes the order (a header's class list); else the sorted union of train and test
    labels (numbers sorted as numbers). A label not in ``classes`` is a UserError.
    """
    ytr, yte = np.asarray(y_train), np.asarray(y_test)
    if classes is None:
        values = np.unique(np.concatenate([ytr, yte]) if len(yte) else ytr)
        classes = list(values)
    index = {str(c): i for i, c in enumerate(classes)}
    out = []
    for part, arr in (("train", ytr), ("test", yte)):
        idx = np.empty(len(arr), dtype=np.int64)
        for i, v in enumerate(arr):
            key = str(v)
            if key not in index:
                shown = ", ".join(list(index)[:10])
                raise UserError(f"{where} ({part} row {i + 1})",
                                f"label '{key}' is not one of the classes ({shown})",
                                "fix the label or the list of classes")
            idx[i] = index[key]
        out.append(idx)
    return out[0], out[1], [str(c) for c in classes]


def integer_class_names(*ys: np.ndarray) -> list[str]:
    """Names '0'..'K-1' for integer labels 0..K-1 (K = largest label + 1)."""
    top = max((int(y.max()) for y in ys if len(y)), default=-1)
    return [str(i) for i in range(top + 1)]


def fixed_split(n: int, test_fraction: float, y: np.ndarray | None = None,
                seed: int = TEST_SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) of a seeded split, stratified when class labels ``y`` are given."""
    from archopt.data.split import split_indices

    gen = torch.Generator().manual_seed(seed)
    labels = None
    if y is not None:  # any label type: stratify on the index of each distinct value
        labels = torch.as_tensor(np.unique(np.asarray(y), return_inverse=True)[1].ravel())
    tr, te = split_indices(n, test_fraction, gen, labels)
    return tr.numpy(), te.numpy()


def from_arrays(
    name: str, kind: Kind | None, task: Task,
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
    class_names: list[str] | None = None,
    lengths_train: np.ndarray | None = None, lengths_test: np.ndarray | None = None,
    where: str | None = None,
) -> Dataset:
    """Check arrays and wrap them as a raw ``Dataset`` (float32 x; int64 or (N, D) float32 y).

    Raises UserError (at ``where``, default the dataset name) when a split is empty, when inputs
    and targets differ in count, or when test inputs differ in shape from train inputs.
    """
    where = where or f"data ({name})"
    x_train, x_test = np.asarray(x_train), np.asarray(x_test)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    for part, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim == 0 or len(x) == 0:
            raise UserError(where, f"the {part} split is empty", "check that the files hold data")
        if y.ndim == 0 or len(x) != len(y):
            raise UserError(where, f"the {part} split has {len(x)} inputs but "
                            f"{y.size if y.ndim == 0 else len(y)} targets",
                            "inputs and labels must have the same count")
        check_values(x, f"the {part} inputs", where)
        if task == "regression":
            check_values(y, f"the {part} targets", where)
    if (lengths_train is None) != (lengths_test is None):
        given, missing = ("train", "test") if lengths_test is None else ("test", "train")
        raise UserError(where, f"the {given} split has sequence lengths but the {missing} split "
                        "has none", "give the true lengths of both splits, or of neither")
    for part, x, ln in (("train", x_train, lengths_train), ("test", x_test, lengths_test)):
        if ln is not None:
            check_lengths(np.asarray(ln), x, part, where)
    if task == "classification":
        check_classes(y_train, y_test, class_names, where)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise UserError(where, f"test inputs have shape {tuple(x_test.shape[1:])} but train "
                        f"inputs {tuple(x_train.shape[1:])}",
                        "train and test examples must have the same shape")
    kind = kind or KIND_BY_NDIM.get(x_train.ndim)
    if kind is None:
        raise UserError(where, f"inputs with {x_train.ndim} dimensions (N, ...) are not image "
                        "(N,C,H,W), sequence (N,T,F) or tabular (N,F) data")

    # native byte order, float32 inputs (a big-endian or float16 file is legal)
    def targets(y: np.ndarray) -> torch.Tensor:
        if task == "classification":
            return torch.as_tensor(np.asarray(y, dtype=np.int64))
        t = torch.as_tensor(np.asarray(y, dtype=np.float32))
        return t.reshape(len(t), -1)

    def lengths(v: np.ndarray | None) -> torch.Tensor | None:
        return None if v is None else torch.as_tensor(np.asarray(v, dtype=np.int64))

    def inputs(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32))

    train = Split(inputs(x_train), targets(y_train), lengths(lengths_train))
    test = Split(inputs(x_test), targets(y_test), lengths(lengths_test))
    if task == "classification" and class_names is None:
        class_names = integer_class_names(np.asarray(y_train), np.asarray(y_test))
    return Dataset(name=name, kind=kind, task=task, input_shape=tuple(x_train.shape[1:]),
                   train=train, test=test, val=None,
                   class_names=list(class_names or []) if task == "classification" else [])


def check_values(a: np.ndarray, what: str, where: str) -> None:
    """A UserError for complex, non-numeric or NaN/infinite values (the first one located)."""
    if np.iscomplexobj(a):
        raise UserError(where, f"{what} are complex numbers",
                        "store real values (e.g. the real and imaginary parts as two features)")
    if a.dtype.kind not in "biuf":
        raise UserError(where, f"{what} hold {a.dtype} values, not numbers")
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            first = int(np.argwhere(bad.reshape(len(a), -1).any(1))[0, 0])
            raise UserError(where, f"{what} hold {int(bad.sum())} NaN or infinite values "
                            f"(the first in example {first + 1})",
                            "fill in or drop those examples before training")


def check_lengths(lengths: np.ndarray, x: np.ndarray, part: str, where: str) -> None:
    """Sequence lengths: one integer per example, each between 1 and the padded length T."""
    if lengths.shape != (len(x),) or lengths.dtype.kind not in "iu":
        raise UserError(where, f"the {part} lengths have shape {lengths.shape} and type "
                        f"{lengths.dtype}; expected {len(x)} integers (one per example)")
    if x.ndim != 3:
        raise UserError(where, f"sequence lengths are given but the {part} inputs are not "
                        f"sequences (N, T, F): shape {x.shape}")
    bad = (lengths < 1) | (lengths > x.shape[1])
    if bad.any():
        i = int(np.argmax(bad))
        raise UserError(where, f"the {part} length of example {i + 1} is {int(lengths[i])}, "
                        f"outside 1..{x.shape[1]} (the padded length)")


def check_classes(y_train: np.ndarray, y_test: np.ndarray, class_names: list[str] | None,
                  where: str) -> None:
    """A classifier needs two classes in training; a class seen only in test gets a warning."""
    from archopt.errors import warn

    for part, y in (("train", y_train), ("test", y_test)):
        if y.dtype.kind not in "iub" or (len(y) and int(y.min()) < 0):
            raise UserError(where, f"the {part} class labels must be integers from 0; got "
                            f"{y.dtype} values from {y.min()}")
    names = class_names or integer_class_names(y_train, y_test)
    top = max(int(y_train.max()), int(y_test.max()) if len(y_test) else 0)
    if top >= len(names):
        raise UserError(where, f"class label {top} but only {len(names)} class names",
                        "labels must index the list of classes")
    seen = np.unique(y_train)
    if len(seen) < 2:
        raise UserError(where, f"the training split holds one class only ('{names[int(seen[0])]}'"
                        f", {len(y_train)} examples): there is nothing to tell apart",
                        "a classifier needs examples of at least two classes")
    only_test = sorted(set(np.unique(y_test).tolist()) - set(seen.tolist()))
    if only_test:
        shown = ", ".join(f"'{names[c]}' ({int((y_test == c).sum())})" for c in only_test[:5])
        warn(where, f"class {shown} appears only in the test split; the model cannot learn it",
             "add training examples of it")
