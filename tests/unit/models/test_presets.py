"""The published models reproduce their parameter counts exactly."""

from __future__ import annotations

import pytest
import torch

from archopt.data.dataset import DataShape
from archopt.models import build_model

MNIST1D = DataShape("sequence", (40, 1), "classification", 10)
CIFAR = DataShape("image", (3, 32, 32), "classification", 10)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, shape, count", [
    ("mnist1d_linear", MNIST1D, 410),
    ("mnist1d_mlp", MNIST1D, 15_210),
    ("mnist1d_cnn", MNIST1D, 5_210),
    ("mnist1d_gru", MNIST1D, 5_134),
    ("lenet5", CIFAR, 62_006),
])
def test_preset_parameter_counts(name: str, shape: DataShape, count: int) -> None:
    model = build_model({"name": name}, shape, seed=0)
    assert n_params(model) == count
    out = model(torch.randn(3, *shape.input_shape))
    assert out.shape == (3, 10)


@pytest.mark.parametrize("hw", [28, 8])
def test_lenet5_pads_small_images_to_32(hw: int) -> None:
    # the first conv zero-pads to 32x32, so only its input channels change the count
    model = build_model({"name": "lenet5"}, DataShape("image", (1, hw, hw), "classification", 10))
    assert n_params(model) == 62_006 - 2 * 6 * 25
    assert model.features[0][0].padding == ((32 - hw) // 2,) * 2


def test_preset_fields_can_be_overridden() -> None:
    model = build_model({"name": "mnist1d_cnn", "dropout": 0.1, "channels": [8, 8, 8]}, MNIST1D)
    assert model.spec["channels"] == [8, 8, 8] and model.spec["dropout"] == 0.1
    assert any(isinstance(m, torch.nn.Dropout) for m in model.modules())
    assert n_params(model) != 5_210


@pytest.mark.parametrize("spec", [
    {"name": "mnist1d_cnn"},
    {"name": "sequential", "layers": [{"conv1d": {"out_channels": 8, "kernel_size": 3}}, "relu",
                                      "flatten", {"linear": {"out_features": "auto"}}]},
])
def test_one_feature_sequences_reach_convolutions_in_the_standard_layout(spec: dict) -> None:
    # a batch gathered from (N, 40, 1) data has strides (40, 1, 1); transposed, a convolution
    # took its channel stride of 1 for channels-last and the net ran in mixed layouts (7% of a
    # training step); the conv outputs must be plainly contiguous (last stride 1)
    model = build_model(spec, MNIST1D, seed=0)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv1d))
    seen = []
    conv.register_forward_hook(lambda m, i, out: seen.append((i[0].stride(), out.stride())))
    x = torch.randn(200, 40, 1)[torch.arange(0, 200, 2)]
    assert x.stride() == (40, 1, 1)
    model(x).sum().backward()
    (x_stride, out_stride), = seen
    assert out_stride[-1] == 1 and x_stride == (40, 40, 1)
