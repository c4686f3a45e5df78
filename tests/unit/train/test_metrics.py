"""Metrics agree with scikit-learn and with definitions; metric/task fit."""

import math

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from archopt.errors import UserError
from archopt.train.metrics import check_metrics, compute, monitor_mode

gen = torch.Generator().manual_seed(0)
LOGITS = torch.randn(50, 4, generator=gen)
Y = torch.randint(0, 4, (50,), generator=gen)
PRED = LOGITS.argmax(-1)


def test_classification_metrics_match_sklearn():
    got = compute(["accuracy", "f1_macro", "precision_weighted", "recall_micro",
                   "top2_accuracy", "confusion_matrix"], LOGITS, Y)
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(Y, PRED))
    assert got["f1_macro"] == pytest.approx(skm.f1_score(Y, PRED, average="macro"))
    assert got["precision_weighted"] == pytest.approx(
        skm.precision_score(Y, PRED, average="weighted", zero_division=0))
    assert got["recall_micro"] == pytest.approx(skm.recall_score(Y, PRED, average="micro"))
    top2 = (LOGITS.topk(2, -1).indices == Y[:, None]).any(-1).float().mean().item()
    assert got["top2_accuracy"] == pytest.approx(top2)
    assert np.array_equal(got["confusion_matrix"], skm.confusion_matrix(Y, PRED))


def test_soft_targets_count_as_their_argmax():
    soft = torch.nn.functional.one_hot(Y, 4).float() * 0.8 + 0.05
    assert compute(["accuracy"], LOGITS, soft) == compute(["accuracy"], LOGITS, Y)


def test_top5_with_fewer_classes_is_one():
    assert compute(["top5_accuracy"], LOGITS, Y)["top5_accuracy"] == 1.0


def test_regression_and_psnr():
    y = torch.randn(20, 2, generator=gen)
    p = y + 0.1 * torch.randn(20, 2, generator=gen)
    got = compute(["mse", "mae", "r2"], p, y)
    assert got["mse"] == pytest.approx(skm.mean_squared_error(y, p), rel=1e-6)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(y, p), rel=1e-6)
    assert got["r2"] == pytest.approx(skm.r2_score(y, p), rel=1e-6)
    img = torch.rand(4, 1, 5, 5, generator=gen)
    noisy = img + 0.05
    want = 10 * math.log10((img.max() - img.min()).item() ** 2 / 0.0025)
    assert compute(["psnr"], noisy, img)["psnr"] == pytest.approx(want, rel=1e-4)


def test_metric_that_does_not_fit_the_task_is_an_error():
    with pytest.raises(UserError) as e:
        check_metrics(["mse", "accuracy"], "regression")
    assert e.value.where == "train.metrics.1"
    with pytest.raises(UserError, match="unknown metric"):
        check_metrics(["acuracy"], "classification")


def test_monitor_mode():
    assert monitor_mode("val_accuracy") == "max" and monitor_mode("val_loss") == "min"
    assert monitor_mode("val_loss", "max") == "max"
