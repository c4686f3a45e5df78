"""The one entry point to data: ``load_data(spec, seed)`` and its summary ``describe_data``.

1) build the named dataset through the ``DATASETS`` registry (train and test, raw),
2) carve the validation split from train (stratified for classification, seeded by ``seed``),
3) fit normalization on the training split only and apply it to every split.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from pydantic import ValidationError

from archopt.data.dataset import Dataset, Split
from archopt.data.split import apply_normalization, fit_normalization, split_indices, take
from archopt.data.subset import select
from archopt.errors import UserError
from archopt.registry import DATASETS, config_error
from archopt.spec.schema import DataSpec


def as_data_spec(spec: DataSpec | Mapping[str, Any] | str) -> DataSpec:
    """A DataSpec from a DataSpec, a data section dict, or a dataset name (defaults)."""
    if isinstance(spec, DataSpec):
        return spec
    if isinstance(spec, str):
        spec = {"name": spec}
    try:
        return DataSpec.model_validate(dict(spec))
    except ValidationError as exc:
        raise config_error(exc, "data", DataSpec) from None


def build_raw(spec: DataSpec) -> Dataset:
    """The dataset as its builder returns it: train and test, not normalized, no val."""
    section = {"name": spec.name, **spec.params()}
    return DATASETS.build(section, "data", cache_dir=spec.cache_dir)


def load_data(spec: DataSpec | Mapping[str, Any] | str, seed: int = 0) -> Dataset:
    """Load a dataset as the spec's ``data`` section says, split and normalized.

    Args:
        spec: a ``DataSpec``, a data-section dict (``{"name": "mnist1d", "val_split": 0.1}``),
            or a built-in dataset name.
        seed: seeds the validation split (the test split of every dataset is fixed).

    Returns:
        A ``Dataset`` whose train/val/test inputs are standardized with statistics fitted on the
        training split (``dataset.normalization``; empty when ``normalize`` is false). ``val`` is
        None when ``val_split`` is 0.

    Raises:
        UserError: an unknown dataset or parameter, a missing or corrupt file, an empty split,
            test inputs shaped unlike train inputs.
    """
    spec = as_data_spec(spec)
    ds = build_raw(spec)
    check_shapes(ds)
    # 2) validation split, carved from train
    if spec.val_split > 0:
        gen = torch.Generator().manual_seed(int(seed))
        labels = ds.train.y if ds.task == "classification" else None
        keep, held = split_indices(len(ds.train), spec.val_split, gen, labels)
        if len(keep) == 0:
            raise UserError("data.val_split", f"leaves no training examples out of "
                            f"{len(ds.train)}", "use a smaller val_split")
        ds.train, ds.val = _take(ds.train, keep), _take(ds.train, held)
    # 3) normalization fitted on train only
    if spec.normalize:
        fit = getattr(ds.train, "fit_normalization", None)  # streaming splits fit themselves
        ds.normalization = fit() if fit else fit_normalization(ds.train)
        for name in ("train", "val", "test"):
            split = getattr(ds, name)
            if split is None:
                continue
            if hasattr(split, "set_normalization"):
                split.set_normalization(ds.normalization)
            else:
                x = apply_normalization(split.x, ds.normalization, split.lengths)
                setattr(ds, name, Split(x, split.y, split.lengths))
    if spec.normalize_target and ds.task == "regression":
        ds.normalization = {**ds.normalization, **fit_target_scale(ds.train.y)}
    # 4) some classes only, a few labels per class (transfer and few-shot learning); the
    # others labelled by a run (data.pseudo_labels) is archopt.transfer.pseudo, applied by fit
    return select(ds, spec.classes, spec.per_class, seed)


def fit_target_scale(y: torch.Tensor) -> dict[str, list[float]]:
    """Per-target mean and std of the training targets (std 1 for a constant target).

    The targets stay in their units; models predict through this scale (``build_model``) so that
    a loss sees standardized targets: without it a regression net must first move its output
    bias to the target mean (e.g. ~150 for diabetes), which Adam does at about lr per step.
    """
    y = y.double().reshape(len(y), -1)
    mean, std = y.mean(0), y.std(0, unbiased=False)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))
    return {"target_mean": [float(v) for v in mean], "target_std": [float(v) for v in std]}


def _take(split: Any, idx: torch.Tensor) -> Any:
    return split.take(idx) if hasattr(split, "take") else take(split, idx)


def _input_shape(split: Any) -> tuple[int, ...]:
    shape = getattr(split, "input_shape", None)  # a StreamingSplit knows it without reading
    return tuple(shape) if shape is not None else tuple(split.x.shape[1:])


def check_shapes(ds: Dataset) -> None:
    """A UserError when the test inputs are shaped unlike the training inputs."""
    tr, te = _input_shape(ds.train), _input_shape(ds.test)
    if tr != te:
        raise UserError(f"data ({ds.name})", f"test inputs have shape {te} but train inputs {tr}",
                        "train and test examples must have the same shape")


def describe_data(spec_or_name: DataSpec | Mapping[str, Any] | str, seed: int = 0) -> dict:
    """A summary of a dataset for ``archopt data info``: kind, shapes, task, classes, splits."""
    spec = as_data_spec(spec_or_name)
    ds = load_data(spec, seed)
    splits = {"train": len(ds.train), "val": len(ds.val) if ds.val is not None else 0,
              "test": len(ds.test)}
    out: dict[str, Any] = {
        "name": spec.name, "kind": ds.kind, "input_shape": list(ds.input_shape), "task": ds.task,
        "num_classes": ds.num_classes, "class_names": ds.class_names,
        "num_outputs": ds.shape.num_outputs, "variable_length": ds.shape.variable_length,
        "splits": splits, "normalization": ds.normalization or None,
    }
    balance: dict[str, Any] = {}
    for name in ("train", "val", "test"):
        split = getattr(ds, name)
        if split is None:
            continue
        y = split.y
        if ds.task == "classification":
            counts = torch.bincount(y, minlength=len(ds.class_names)).tolist()
            balance[name] = dict(zip(ds.class_names, counts))
        else:
            yf = y.double()  # the spread as normalization computes it (population std)
            balance[name] = {"mean": yf.mean(0).tolist(),
                             "std": yf.std(0, unbiased=False).tolist()}
    out["class_balance" if ds.task == "classification" else "target_stats"] = balance
    if ds.task != "classification":
        out["class_balance"] = None
    return out
