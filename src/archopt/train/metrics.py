"""Metrics, registered in METRICS: ``metric(outputs, targets) -> float`` on a whole split.

The loop accumulates model outputs and targets over an epoch and calls these once at its end,
on CPU, through scikit-learn (``sklearn.metrics``); nothing here is a hand-written formula but
PSNR, which is defined from the MSE. Classification outputs are logits ``(N, C)`` and targets
class indices ``(N,)`` (soft targets ``(N, C)`` count as their argmax).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from sklearn import metrics as skm

from archopt.errors import UserError
from archopt.registry import METRICS

# which tasks each metric fits; filled by `_metric`
METRIC_TASKS: dict[str, set[str]] = {}
# metrics that are not one number (kept out of history.jsonl, written to metrics.json)
NON_SCALAR = {"confusion_matrix"}
DEFAULT_METRICS = {"classification": ["accuracy", "f1_macro"], "regression": ["mse", "mae", "r2"],
                   "reconstruction": ["mse", "psnr"], "generation": []}
_HIGHER_IS_BETTER = ("accuracy", "f1", "precision", "recall", "r2", "psnr")


def monitor_mode(monitor: str, mode: str = "auto") -> str:
    """``min`` or ``max`` for a monitored history key (``auto``: max for accuracy-like names)."""
    if mode != "auto":
        return mode
    return "max" if any(k in monitor for k in _HIGHER_IS_BETTER) else "min"


def check_metrics(names: list[str], task: str, where: str = "train.metrics") -> None:
    """UserError when a metric does not fit the task (``accuracy`` for regression)."""
    for i, name in enumerate(names):
        METRICS.get(name, f"{where}.{i}")
        if task not in METRIC_TASKS[name]:
            fits = sorted(n for n, t in METRIC_TASKS.items() if task in t)
            raise UserError(f"{where}.{i}", f"metric '{name}' does not fit the {task} task",
                            f"metrics for {task}: {', '.join(fits) or 'none'}")


def compute(names: list[str], outputs: torch.Tensor, targets: torch.Tensor) -> dict:
    """Each named metric on a split's accumulated outputs and targets."""
    return {n: METRICS.get(n).fn(outputs, targets) for n in names}


def _metric(name: str, tasks: set[str]) -> Callable:
    def deco(fn: Callable) -> Callable:
        METRIC_TASKS[name] = tasks
        return METRICS.register(name)(fn)
    return deco


def _labels(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) class indices as numpy arrays."""
    # max().indices: several times faster than argmax() on CPU for few classes
    y = targets.max(-1).indices if targets.ndim == 2 else targets
    return y.numpy(), outputs.max(-1).indices.numpy()


_CLS = {"classification"}


@_metric("accuracy", _CLS)
def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of examples whose top class is the target."""
    return float(skm.accuracy_score(*_labels(outputs, targets)))


def _topk(k: int) -> Callable:
    def topk(outputs: torch.Tensor, targets: torch.Tensor) -> float:
        y, _ = _labels(outputs, targets)
        c = outputs.shape[-1]
        if c <= k:   # every class is in the top k
            return 1.0
        return float(skm.top_k_accuracy_score(y, outputs.float().numpy(), k=k,
                                              labels=np.arange(c)))
    topk.__doc__ = f"Fraction of examples whose target is among the {k} top classes."
    return topk


for _k in (2, 3, 5):
    _metric(f"top{_k}_accuracy", _CLS)(_topk(_k))


def _prf(kind: str, average: str) -> Callable:
    fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[kind]

    def score(outputs: torch.Tensor, targets: torch.Tensor) -> float:
        y, p = _labels(outputs, targets)
        return float(fn(y, p, average=average, labels=np.arange(outputs.shape[-1]),
                        zero_division=0))
    score.__doc__ = f"{kind.capitalize()}, {average}-averaged over classes."
    return score


for _kind in ("precision", "recall", "f1"):
    for _avg in ("macro", "micro", "weighted"):
        _metric(f"{_kind}_{_avg}", _CLS)(_prf(_kind, _avg))


@_metric("confusion_matrix", _CLS)
def confusion_matrix(outputs: torch.Tensor, targets: torch.Tensor) -> list[list[int]]:
    """Counts of (true class, predicted class); rows are true classes."""
    y, p = _labels(outputs, targets)
    return skm.confusion_matrix(y, p, labels=np.arange(outputs.shape[-1])).tolist()


def _flat(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(true, predicted) as (N, D) float arrays (images and sequences flattened)."""
    t = targets.reshape(len(targets), -1).double().numpy()
    return t, outputs.reshape(t.shape).double().numpy()


_REG = {"regression", "reconstruction"}


@_metric("mse", _REG)
def mse(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean squared error over all outputs."""
    return float(skm.mean_squared_error(*_flat(outputs, targets)))


@_metric("mae", _REG)
def mae(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean absolute error over all outputs."""
    return float(skm.mean_absolute_error(*_flat(outputs, targets)))


@_metric("r2", {"regression"})
def r2(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Coefficient of determination, averaged uniformly over target columns."""
    return float(skm.r2_score(*_flat(outputs, targets)))


@_metric("psnr", {"reconstruction"})
def psnr(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB; the peak is the targets' value range."""
    t, p = _flat(outputs, targets)
    err = float(skm.mean_squared_error(t, p))
    peak = float(t.max() - t.min()) or 1.0
    return math.inf if err == 0 else 10.0 * math.log10(peak**2 / err)
