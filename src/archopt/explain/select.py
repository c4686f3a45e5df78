"""What the user asked to explain: which methods, which examples, which output."""

from __future__ import annotations

from typing import Any

import torch

from archopt.errors import UserError, suggest
from archopt.explain.attention import NO_ATTENTION_HINT
from archopt.explain.methods import METHODS, applicable, target_layer
from archopt.explain.subject import Subject


def methods(asked: list[str] | None, subject: Subject, layer: str | None = None) -> list[str]:
    """The methods to run: the ones asked for (checked), or every one that applies."""
    model = subject.model.model
    if not asked:
        names = applicable(model, subject.kind)
        if layer is not None:
            target_layer(model, layer)
        return names
    out = []
    for name in asked:
        name = name.strip().lower().replace("-", "_")
        if name not in METHODS:
            hint = suggest(name, METHODS) or f"methods: {', '.join(METHODS)}"
            raise UserError(f"--method {name}", "unknown attribution method", hint)
        if name not in out:
            out.append(name)
    if "grad_cam" in out or layer is not None:
        target_layer(model, layer)  # no convolution, or no such layer: said before any work
    if "attention" in out and "attention" not in applicable(model, subject.kind):
        raise UserError("--method attention", "the model has no attention to show",
                        NO_ATTENTION_HINT)
    return out


def examples(count: int | None, indices: list[int] | None, size: int) -> list[int]:
    """Indices into the split: the ones given (checked), else the first ``count``."""
    if indices:
        for i in indices:
            if not 0 <= i < size:
                raise UserError(f"--index {i}", f"past the split, which holds {size} examples",
                                f"use an index from 0 to {size - 1}")
        return list(dict.fromkeys(indices))
    if count is not None and count < 1:
        raise UserError(f"--examples {count}", "must be at least 1")
    return list(range(min(count or 8, size)))


def targets(subject: Subject, which: str | int, x: torch.Tensor, y: torch.Tensor,
            lengths: torch.Tensor | None) -> tuple[torch.Tensor, str, torch.Tensor]:
    """(B,) the output index explained for each example, what it is in words, and the model's
    outputs on ``x`` (B, K), which integrated gradients' completeness check reuses.

    Classification: ``predicted`` (default), ``true``, or a class (index or name). Regression:
    an output index (default 0). Reconstruction: the reconstruction error (one output).
    """
    B, task = len(x), subject.task
    with torch.no_grad():
        outputs = torch.cat([subject.model(x[i:i + 256], None if lengths is None else
                                           lengths[i:i + 256]) for i in range(0, B, 256)])
    if task == "reconstruction":
        return (torch.zeros(B, dtype=torch.long), "the reconstruction's mean squared error",
                outputs)
    k = _outputs(subject)
    if task == "regression":
        i = 0 if str(which) in ("predicted", "true") else _index(which, k, [])
        return torch.full((B,), i, dtype=torch.long), f"predicted value of output {i}", outputs
    if str(which) == "predicted":
        return outputs.argmax(1), "the logit of the predicted class", outputs
    if str(which) == "true":
        return y.long().reshape(B), "the logit of the true class", outputs
    i = _index(which, k, subject.class_names)
    name = subject.class_names[i] if i < len(subject.class_names) else str(i)
    return torch.full((B,), i, dtype=torch.long), f"the logit of class {name}", outputs


def _outputs(subject: Subject) -> int:
    return int(subject.shape.num_outputs)


def _index(which: Any, k: int, names: list[str]) -> int:
    s = str(which)
    if s in names:
        return names.index(s)
    try:
        i = int(s)
    except ValueError:
        hint = (f"use predicted, true, a class index 0-{k - 1}"
                + (f" or a class name ({', '.join(names[:10])})" if names else ""))
        raise UserError(f"--target {s}", "not a class of this run", hint) from None
    if not 0 <= i < k:
        raise UserError(f"--target {s}", f"the model has {k} outputs",
                        f"use an index from 0 to {k - 1}")
    return i
