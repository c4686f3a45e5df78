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


CLASSIFICATION = ["accuracy", "top2_accuracy", "top3_accuracy", "top5_accuracy",
                  "confusion_matrix"] + [f"{k}_{a}" for k in ("precision", "recall", "f1")
                                         for a in ("macro", "micro", "weighted")]


def sklearn_classification(name, logits, y):
    """scikit-learn's value of a classification metric (the reference)."""
    c = logits.shape[1]
    labels = np.arange(c)
    pred = logits.argmax(1)
    if name == "accuracy":
        return skm.accuracy_score(y, pred)
    if name.startswith("top"):
        k = int(name[3])
        return 1.0 if c <= k else skm.top_k_accuracy_score(y, logits, k=k, labels=labels)
    if name == "confusion_matrix":
        return skm.confusion_matrix(y, pred, labels=labels).tolist()
    kind, avg = name.split("_")
    fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[kind]
    return fn(y, pred, average=avg, labels=labels, zero_division=0)


@pytest.mark.parametrize("seed", range(8))
def test_torch_metrics_equal_sklearn_on_random_data(seed):
    g = np.random.default_rng(seed)
    n, c = int(g.integers(1, 300)), int(g.integers(2, 12))
    logits = g.normal(size=(n, c)).astype(np.float32)
    # some classes absent from the targets, or from the predictions (zero division)
    y = g.integers(0, max(1, c - int(g.integers(0, 3))), size=n)
    if seed % 3 == 0:
        logits[:, 0] -= 10.0
    got = compute(CLASSIFICATION, torch.from_numpy(logits), torch.from_numpy(y))
    for name in CLASSIFICATION:
        want = sklearn_classification(name, logits, y)
        assert got[name] == (want if name == "confusion_matrix" else pytest.approx(want, abs=1e-12))
    # regression: several columns, one of them constant (r2's special cases)
    t = g.normal(size=(n, 3))
    t[:, 2] = 1.5
    p = t + g.normal(scale=0.3, size=(n, 3))
    if seed % 2:
        p[:, 2] = 1.5
    got = compute(["mse", "mae", "r2"], torch.from_numpy(p).float(), torch.from_numpy(t))
    p32 = p.astype(np.float32).astype(np.float64)
    assert got["mse"] == pytest.approx(skm.mean_squared_error(t, p32), rel=1e-12)
    assert got["mae"] == pytest.approx(skm.mean_absolute_error(t, p32), rel=1e-12)
    assert got["r2"] == pytest.approx(skm.r2_score(t, p32), rel=1e-12, abs=1e-12)

