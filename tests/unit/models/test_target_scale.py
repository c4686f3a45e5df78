"""Regression targets: statistics fitted on train, carried by DataShape, applied by the model
(predictions in target units), and a loss on standardized values."""

from __future__ import annotations

import json

import pytest
import torch

import archopt
from archopt.data.dataset import DataShape
from archopt.models import build_model
from archopt.spec import DataSpec
from archopt.train.tasks import RegressionTask

SHAPE = DataShape("tabular", (4,), "regression", 2)
SCALED = DataShape("tabular", (4,), "regression", 2, target_mean=(150.0, -3.0),
                   target_std=(70.0, 0.5))


def test_statistics_fitted_on_train_only():
    ds = archopt.load_data(DataSpec(name="diabetes", val_split=0.2), seed=0)
    y = ds.train.y.double()
    assert ds.shape.target_mean == pytest.approx(tuple(y.mean(0).tolist()))
    assert ds.shape.target_std == pytest.approx(tuple(y.std(0, unbiased=False).tolist()))
    assert ds.shape.target_mean != pytest.approx(tuple(ds.val.y.double().mean(0).tolist()))
    assert ds.train.y.abs().max() > 100  # the targets themselves stay in their units


def test_off_and_classification_have_none():
    off = archopt.load_data(DataSpec(name="diabetes", normalize_target=False), seed=0)
    assert off.shape.target_mean is None
    cls = archopt.load_data(DataSpec(name="wine"), seed=0)
    assert cls.shape.target_mean is None and "target_mean" not in cls.normalization


def test_shape_round_trips_through_json():
    again = DataShape.from_dict(json.loads(json.dumps(SCALED.to_dict())))
    assert again == SCALED


def test_model_predicts_in_target_units():
    plain = build_model({"name": "mlp", "hidden": [8]}, SHAPE, seed=3)
    scaled = build_model({"name": "mlp", "hidden": [8]}, SCALED, seed=3)
    x = torch.randn(5, 4)
    expected = plain(x) * torch.tensor([70.0, 0.5]) + torch.tensor([150.0, -3.0])
    torch.testing.assert_close(scaled(x), expected)
    assert "target_mean" in scaled.state_dict() and "target_mean" not in plain.state_dict()


def test_loss_compares_standardized_values():
    model = build_model({"name": "mlp", "hidden": []}, SCALED, seed=0)
    task = RegressionTask()
    task.check(model, SCALED)
    out, y = torch.tensor([[220.0, -2.0]]), torch.tensor([[150.0, -3.0]])
    loss = task.loss(torch.nn.MSELoss(), model, out, y)
    assert loss.item() == pytest.approx(((70 / 70) ** 2 + (1 / 0.5) ** 2) / 2)


def test_linear_regression_reaches_least_squares(tmp_path):
    # without the target scale this model sat near R2 = -3.6 after 3000 steps (the bias must
    # walk to ~150 at about lr per Adam step); least squares on this split reaches ~0.5
    spec = archopt.load_spec({"name": "t", "data": {"name": "diabetes"},
                              "model": {"name": "mlp", "hidden": []},
                              "train": {"epochs": 40, "optimizer": {"name": "adam", "lr": 0.01},
                                        "threads": 1}})
    result = archopt.fit(spec, out=tmp_path / "run", quiet=True)
    assert result["test"]["r2"] > 0.45
    assert result["test"]["mse"] > 100  # metrics are in the targets' units
