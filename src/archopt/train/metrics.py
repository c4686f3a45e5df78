"""Metrics, registered in METRICS: ``metric(outputs, targets) -> float`` on a whole split.

The loop accumulates model outputs and targets over an epoch and calls these once at its end,
on CPU. They are computed with torch, in float64, by scikit-learn's definitions (``accuracy_score``,
``top_k_accuracy_score``, ``precision/recall/f1_score`` with ``labels=range(C)`` and
``zero_division=0``, ``confusion_matrix``, ``mean_squared_error``, ``mean_absolute_error``,
``r2_score``); ``tests/unit/train/test_metrics.py`` checks them equal to scikit-learn's on random
data. They do not call scikit-learn because importing ``sklearn.metrics`` costs every training
process about as much CPU time as importing torch. Classification outputs are logits ``(N, C)``
and targets class indices ``(N,)`` (soft targets ``(N, C)`` count as their argmax).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from archopt.errors import UserError
from archopt.registry import METRICS

# which tasks each metric fits; filled by `_metric`
METRIC_TASKS: dict[str, set[str]] = {}
# metrics that are not one number (kept out of history.jsonl, written to metrics.json)
NON_SCALAR = {"confusion_matrix"}
DEFAULT_METRICS = {"classification": ["accuracy", "f1_macro"], "regression": ["mse", "mae", "r2"],
                   "reconstruction": ["mse", "psnr"], "generation": [],
                   "contrastive": [], "prototypical": []}
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


def _labels(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(true, predicted) class indices."""
    # max().indices: several times faster than argmax() on CPU for few classes
    y = targets.max(-1).indices if targets.ndim == 2 else targets
    return y.long(), outputs.max(-1).indices


def _counts(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The confusion matrix (C, C) as float64: rows true classes, columns predicted."""
    y, p = _labels(outputs, targets)
    c = outputs.shape[-1]
    return torch.bincount(y * c + p, minlength=c * c).reshape(c, c).double()


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den, 0 where den is 0 (scikit-learn's ``zero_division=0``)."""
    return torch.where(den > 0, num / den.clamp_min(1e-300), torch.zeros_like(num))


_CLS = {"classification"}


@_metric("accuracy", _CLS)
def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of examples whose top class is the target."""
    y, p = _labels(outputs, targets)
    return float((y == p).double().mean())


def _topk(k: int) -> Callable:
    def topk(outputs: torch.Tensor, targets: torch.Tensor) -> float:
        y, _ = _labels(outputs, targets)
        if outputs.shape[-1] <= k:   # every class is in the top k
            return 1.0
        scores = outputs.double()                                   # (N, C)
        target = scores.gather(1, y[:, None])                       # (N, 1)
        return float(((scores > target).sum(1) < k).double().mean())
    topk.__doc__ = f"Fraction of examples whose target is among the {k} top classes."
    return topk


for _k in (2, 3, 5):
    _metric(f"top{_k}_accuracy", _CLS)(_topk(_k))


def _prf(kind: str, average: str) -> Callable:
    def score(outputs: torch.Tensor, targets: torch.Tensor) -> float:
        cm = _counts(outputs, targets)
        tp, true, pred = cm.diagonal(), cm.sum(1), cm.sum(0)      # (C,) each
        if average == "micro":
            tp, true, pred = tp.sum(), true.sum(), pred.sum()
        per = {"precision": _ratio(tp, pred), "recall": _ratio(tp, true),
               "f1": _ratio(2 * tp, true + pred)}[kind]
        if average == "weighted":
            return float(_ratio((per * true).sum(), true.sum()))
        return float(per.mean())
    score.__doc__ = f"{kind.capitalize()}, {average}-averaged over classes."
    return score


for _kind in ("precision", "recall", "f1"):
    for _avg in ("macro", "micro", "weighted"):
        _metric(f"{_kind}_{_avg}", _CLS)(_prf(_kind, _avg))


@_metric("confusion_matrix", _CLS)
def confusion_matrix(outputs: torch.Tensor, targets: torch.Tensor) -> list[list[int]]:
    """Counts of (true class, predicted class); rows are true classes."""
    return _counts(outputs, targets).long().tolist()


def _flat(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(true, predicted) as (N, D) float64 (images and sequences flattened)."""
    t = targets.reshape(len(targets), -1).double()
    return t, outputs.reshape(t.shape).double()


_REG = {"regression", "reconstruction"}


@_metric("mse", _REG)
def mse(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean squared error over all outputs."""
    t, p = _flat(outputs, targets)
    return float((t - p).pow(2).mean(0).mean())


@_metric("mae", _REG)
def mae(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean absolute error over all outputs."""
    t, p = _flat(outputs, targets)
    return float((t - p).abs().mean(0).mean())


@_metric("r2", {"regression"})
def r2(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Coefficient of determination, averaged uniformly over target columns (a constant column
    scores 1 when predicted exactly, else 0, as scikit-learn's ``force_finite``)."""
    t, p = _flat(outputs, targets)
    res = (t - p).pow(2).sum(0)                                     # (D,)
    tot = (t - t.mean(0)).pow(2).sum(0)                             # (D,)
    score = torch.where(tot > 0, 1 - res / tot.clamp_min(1e-300),
                        torch.where(res == 0, 1.0, 0.0).double())
    return float(score.mean())


@_metric("psnr", {"reconstruction"})
def psnr(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB; the peak is the targets' value range."""
    t, _ = _flat(outputs, targets)
    err = mse(outputs, targets)
    peak = float(t.max() - t.min()) or 1.0
    return math.inf if err == 0 else 10.0 * math.log10(peak**2 / err)
