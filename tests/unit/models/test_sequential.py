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
    ([{"permute": [0, 2, 1]}, {"conv1d": {"out_channels": 4, "kernel_size": 41}}],
     "model.layers.1.conv1d", "1 channels of length 40: its kernel"),
    ([{"conv1d": {"out_channels": 4, "kernel_size": 41}}], "model.layers.0.conv1d",
     "1 channels of length 40: its kernel"),
    ([{"permute": [0, 1, 2]}, {"conv1d": {"out_channels": 4, "kernel_size": 3}}],
     "model.layers.1.conv1d", "40 steps x 1 features reaches it as (steps, features)"),
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


PAPER_CNN = [  # the MNIST-1D paper's CNN as its paper and a PyTorch user write it: no permute
    {"conv1d": {"out_channels": 25, "kernel_size": 5, "stride": 2, "padding": 1}}, "relu",
    {"conv1d": {"out_channels": 25, "kernel_size": 3, "stride": 2, "padding": 1}}, "relu",
    {"conv1d": {"out_channels": 25, "kernel_size": 3, "stride": 2, "padding": 1}}, "relu",
    "flatten", {"linear": {"out_features": 10}}]


@pytest.mark.parametrize("layers", [PAPER_CNN, [{"permute": [0, 2, 1]}, *PAPER_CNN],
                                    ["dropout", *PAPER_CNN]])
def test_a_1d_cnn_on_sequences_takes_features_as_channels(layers: list) -> None:
    """(B, T, F) sequences reach a first conv1d as (B, F, T); an explicit permute still works."""
    seq = build_model({"name": "sequential", "layers": layers}, MNIST1D, seed=0)
    ref = build_model({"name": "mnist1d_cnn"}, MNIST1D, seed=1)
    assert sum(p.numel() for p in seq.parameters()) == 5_210
    with torch.no_grad():
        for a, b in zip(seq.parameters(), ref.parameters(), strict=True):
            a.copy_(b)
    x = torch.randn(4, 40, 1)
    torch.testing.assert_close(seq.eval()(x), ref.eval()(x))


def test_multichannel_sequences_and_time_major_layers_keep_their_layout() -> None:
    shape = DataShape("sequence", (30, 3), "classification", 2)   # 30 steps x 3 features
    conv = build_model({"name": "sequential", "layers": [
        {"conv1d": {"out_channels": 8, "kernel_size": 3}}, "flatten",
        {"linear": {"out_features": "auto"}}]}, shape)
    assert conv.features[1].in_channels == 3                      # features are channels
    rnn = build_model({"name": "sequential", "layers": [
        {"gru": {"hidden_size": 4}}, {"linear": {"out_features": "auto"}}]}, shape)
    assert rnn.features[0].rnn.input_size == 3                   # (B, T, F) as given
    assert conv(torch.randn(2, 30, 3)).shape == rnn(torch.randn(2, 30, 3)).shape == (2, 2)
