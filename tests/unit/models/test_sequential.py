"""``sequential``: the published models written as layer lists equal their presets exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.models import build_model

ROOT = Path(__file__).resolve().parents[3]
MNIST1D = DataShape("sequence", (40, 1), "classification", 10)
DIGITS = DataShape("image", (1, 8, 8), "classification", 10)


def model_section(example: str) -> dict:
    return yaml.safe_load((ROOT / "examples/models" / example).read_text())["model"]


@pytest.mark.parametrize("example, preset, shape, count", [
    ("mnist1d_linear_sequential.yaml", "mnist1d_linear", MNIST1D, 410),
    ("mnist1d_mlp_sequential.yaml", "mnist1d_mlp", MNIST1D, 15_210),
    ("mnist1d_cnn_sequential.yaml", "mnist1d_cnn", MNIST1D, 5_210),
    ("mnist1d_gru_sequential.yaml", "mnist1d_gru", MNIST1D, 5_134),
    ("lenet5_sequential.yaml", "lenet5", DIGITS, 61_706),
])
def test_sequential_equals_its_preset(example: str, preset: str, shape: DataShape,
                                      count: int) -> None:
    seq = build_model(model_section(example), shape, seed=0)
    ref = build_model({"name": preset}, shape, seed=1)
    assert sum(p.numel() for p in seq.parameters()) == count
    assert sum(p.numel() for p in ref.parameters()) == count
    # same parameters in the same order: copy the preset's weights, get the same function
    with torch.no_grad():
        for a, b in zip(seq.parameters(), ref.parameters(), strict=True):
            assert a.shape == b.shape
            a.copy_(b)
    x = torch.randn(4, *shape.input_shape)
    torch.testing.assert_close(seq.eval()(x), ref.eval()(x))


def test_features_and_head_split_at_the_last_parametric_layer() -> None:
    model = build_model(model_section("mnist1d_cnn_sequential.yaml"), MNIST1D)
    assert [type(m).__name__ for m in model.head] == ["Linear"]
    assert model.features(torch.zeros(2, 40, 1)).shape == (2, 125)


def test_auto_output_residual_embedding_and_recurrent_outputs() -> None:
    shape = DataShape("sequence", (12, 1), "classification", 4)
    layers = [
        {"embedding": {"num_embeddings": 5, "embedding_dim": 6}},      # (B, 12, 6)
        {"residual": [{"linear": {"out_features": 6}}, "gelu"]},      # (B, 12, 6)
        {"lstm": {"hidden_size": 3, "output": "mean"}},               # (B, 3)
        {"linear": {"out_features": "auto"}},
    ]
    model = build_model({"name": "sequential", "layers": layers}, shape, seed=0)
    x = torch.randint(0, 5, (3, 12, 1)).float()
    assert model(x).shape == (3, 4)
    assert isinstance(model.features[1].body[0], torch.nn.Linear)


@pytest.mark.parametrize("layers, where, words", [
    ([{"conv2d": {"out_channels": 4, "kernel_size": 3}}], "model.layers.0.conv2d", "(B, C, H, W)"),
    ([{"conv1d": {"out_channels": 4, "kernel_size": 3}}], "model.layers.0.conv1d", "permute"),
    ([{"permute": [0, 2, 1]}, {"conv1d": {"out_channels": 4, "kernel_size": 41}}],
     "model.layers.1.conv1d", "Kernel size"),
    ([{"linar": {"out_features": 10}}], "model.layers.0.linar", "linear"),
    ([{"linear": {"out_feature": 10}}], "model.layers.0.linear.out_feature", "out_features"),
    ([{"linear": {"in_features": 3, "out_features": 10}}], "model.layers.0.linear.in_features",
     "inferred"),
    (["flatten", {"linear": {"out_features": 3}}], "model", "10 classes"),
    ([{"residual": ["flatten"]}], "model.layers.0.residual", "same shape"),
    ([{"conv1d": 3}], "model.layers.0.conv1d", "mapping"),
    ([{"permute": [0, 1]}], "model.layers.0.permute", "order"),
    ([{"gru": {"hidden_size": 4, "output": "first"}}], "model.layers.0.gru.output", "last"),
    ([{"relu": None, "flatten": None}], "model.layers.0", "one-key"),
    (["gru"], "model.layers.0.gru", "hidden_size"),
    ([{"group_norm": {}}], "model.layers.0.group_norm", "num_groups"),
    ([{"gru": [4]}], "model.layers.0.gru", "mapping"),
    (["flatten", "conv1d"], "model.layers.1.conv1d", "(B, C, T)"),
])
def test_layer_errors_name_the_layer(layers: list, where: str, words: str) -> None:
    with pytest.raises(UserError) as err:
        build_model({"name": "sequential", "layers": layers}, MNIST1D)
    assert err.value.where == where
    assert words in f"{err.value.what} {err.value.hint}"
