"""Every registered model family and preset exports to ONNX and computes what PyTorch computes
(ONNX Runtime, max |difference| <= 1e-4, same classes), on tiny data of a kind it takes, with the
normalization inside; variable-length recurrent and transformer models through their lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.export.export import write_artifact
from archopt.export.wrapper import RawInputModel
from archopt.models import build_model, list_models
from archopt.registry import MODELS

pytest.importorskip("onnxruntime")

SHAPES = {
    "image": DataShape("image", (1, 8, 8), "classification", 10),
    "sequence": DataShape("sequence", (40, 1), "classification", 10),
    "tabular": DataShape("tabular", (13,), "regression", 2, False, (150.0, -3.0), (70.0, 2.0)),
}
TINY: dict[str, dict] = {
    "mlp": {"hidden": [8, 8], "norm": "batch", "dropout": 0.1},
    "cnn": {"channels": [4, 6], "norm": "group", "head": [8]},
    "resnet": {"widths": [4, 8], "depths": [1, 1], "stem_channels": 4},
    "rnn": {"hidden": 5, "layers": 2, "bidirectional": True, "pooling": "attention"},
    "transformer": {"width": 8, "depth": 1, "heads": 2, "patch_size": 4},
    "autoencoder": {"hidden": [16], "latent": 4, "variational": True},
    "gan": {"latent": 4, "hidden": [8], "channels": [8, 4]},
    "dcgan": {"latent": 8},
    "sequential": {"layers": ["flatten", {"linear": {"out_features": 8}}, "relu",
                              {"linear": {"out_features": "auto"}}]},
}
VARIABLE = DataShape("sequence", (12, 3), "classification", 4, variable_length=True)


def first_kind(name: str) -> str:
    kinds = getattr(MODELS.get(name).config, "kinds", ("image", "sequence", "tabular"))
    return next(k for k in ("image", "sequence", "tabular") if k in kinds)


def raw_inputs(shape: DataShape, n: int = 37) -> np.ndarray:
    gen = torch.Generator().manual_seed(1)
    return (3.0 + 2.0 * torch.randn(n, *shape.input_shape, generator=gen)).numpy()


def normalization(shape: DataShape) -> dict:
    width = shape.input_shape[0] if shape.kind == "image" else shape.input_shape[-1]
    return {"mean": [3.0 + 0.1 * i for i in range(width)], "std": [2.0] * width}


def check(model: torch.nn.Module, shape: DataShape, tmp_path: Path,
          lengths: np.ndarray | None = None) -> dict:
    norm = normalization(shape)
    task = RawInputModel(model, shape, norm).task
    x = (torch.randn(37, model.latent_dim).numpy() if task == "generation"
         else raw_inputs(shape))
    labels = np.arange(len(x)) % shape.num_outputs if task == "classification" else None
    wrapper, exporter, parity = write_artifact(model, shape, norm, "onnx", tmp_path, x, lengths,
                                               labels)
    assert parity["passed"] and parity["max_abs_diff"] <= parity["tolerance"]
    assert parity["tolerance"] == 1e-4 or task != "classification"
    assert parity["examples"] == 37
    if task == "classification":
        assert parity["classes_identical"]
    assert (tmp_path / "model.onnx").is_file()
    return parity


@pytest.mark.parametrize("name", list_models())
def test_every_model_exports_with_parity(name: str, tmp_path: Path) -> None:
    shape = SHAPES[first_kind(name)]
    model = build_model({"name": name, **TINY.get(name, {})}, shape, seed=0)
    check(model, shape, tmp_path)


@pytest.mark.parametrize("section", [
    {"name": "rnn", "cell": "gru", "hidden": 5, "layers": 2, "bidirectional": True,
     "pooling": "last"},
    {"name": "rnn", "cell": "lstm", "hidden": 4, "bidirectional": True, "pooling": "mean"},
    {"name": "transformer", "width": 8, "depth": 1, "heads": 2, "sequence_patch": 3,
     "pooling": "mean"},
], ids=["gru-bi-2layers-last", "lstm-bi-mean", "transformer-mean"])
def test_variable_length_models_export_through_lengths(section: dict, tmp_path: Path) -> None:
    model = build_model(section, VARIABLE, seed=0)
    lengths = np.array([12, 1, 5, 7, 3, 12, 9] * 5 + [2, 11], dtype=np.int64)
    parity = check(model, VARIABLE, tmp_path, lengths)
    assert parity["classes_identical"]
