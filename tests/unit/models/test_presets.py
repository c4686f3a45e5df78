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
