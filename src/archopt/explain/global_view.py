"""The global view of a tabular model: each method's mean |attribution| per feature over the
explained examples (or, asked for, every example of the split), beside scikit-learn's permutation
importance over the whole split (how much the score drops when one column is shuffled), so the
two can be compared."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from archopt.explain.subject import Subject


class _Scored:
    """What ``sklearn.inspection.permutation_importance`` calls: a scorer over raw inputs."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject

    def fit(self, *_: Any) -> _Scored:  # scikit-learn's estimator protocol; already trained
        return self

    def score(self, x: np.ndarray, y: np.ndarray) -> float:
        """Accuracy (classification), -MSE (regression), -reconstruction error."""
        model = self.subject.model
        with torch.no_grad():
            out = model(torch.as_tensor(x, dtype=torch.float32))
        if model.task == "classification":
            return float((out.argmax(1).numpy() == y).mean())
        if model.task == "regression":
            return -float(((out.numpy() - y.reshape(out.shape)) ** 2).mean())
        return -float(out.mean())


def permutation(subject: Subject, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Permutation importance of every feature on the subject's split."""
    from sklearn.inspection import permutation_importance

    x, y = subject.x.numpy(), subject.y.numpy()
    result = permutation_importance(_Scored(subject), x, y, scoring=lambda e, a, b: e.score(a, b),
                                    n_repeats=repeats, random_state=seed)
    return {"mean": result.importances_mean.round(6).tolist(),
            "std": result.importances_std.round(6).tolist(), "repeats": repeats,
            "score": {"classification": "accuracy", "regression": "negative MSE"}.get(
                subject.task, "negative reconstruction error")}


def global_view(subject: Subject, attributions: dict[str, torch.Tensor],
                over: str = "examples") -> dict[str, Any]:
    """Mean |attribution| per feature per method, the permutation importance, and the features
    ranked by each. ``over``: what the attributions cover, ``examples`` (the explained ones)
    or ``split`` (all of it)."""
    names = subject.feature_names
    mean_abs = {m: a.abs().mean(0).numpy() for m, a in attributions.items()}
    perm = permutation(subject)
    ranking = {m: [names[i] for i in np.argsort(-v)] for m, v in mean_abs.items()}
    ranking["permutation_importance"] = [names[i] for i in np.argsort(-np.asarray(perm["mean"]))]
    return {"features": names, "examples": int(next(iter(attributions.values())).shape[0]),
            "over": over,
            "mean_abs": {m: v.round(6).tolist() for m, v in mean_abs.items()},
            "permutation_importance": perm, "ranking": ranking}
