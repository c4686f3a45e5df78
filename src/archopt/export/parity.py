"""Parity: the exported artifact against PyTorch eager, on the run's own test data.

Float artifacts pass when the largest absolute difference of their outputs is at most
``TOLERANCE`` and, for classifiers, every predicted class is the same. Outputs in the data's own
units (regression values, reconstructions, samples) can be large, where float32 itself cannot
resolve 1e-4 (its spacing at 2000 is 1.2e-4): there the tolerance is ``TOLERANCE`` times the
largest output magnitude when that exceeds 1. Quantized (int8)
artifacts are expected to differ: their agreement with PyTorch and their own accuracy are
reported, and they pass when the artifact's accuracy is within ``INT8_ACCURACY_DROP`` of
PyTorch's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from archopt.export.formats import Runner

TOLERANCE = 1e-4
INT8_ACCURACY_DROP = 0.05
CHUNK = 256  # batches of this size, then a batch of 1: the dynamic batch axis is exercised


def _outputs(run: Runner, x: np.ndarray, lengths: np.ndarray | None) -> np.ndarray:
    parts = []
    for i in range(0, len(x), CHUNK):
        parts.append(run(x[i:i + CHUNK], None if lengths is None else lengths[i:i + CHUNK]))
    parts.append(run(x[:1], None if lengths is None else lengths[:1]))  # batch of one
    return np.concatenate(parts)


def check_parity(reference: Runner, artifact: Runner, x: np.ndarray,
                 lengths: np.ndarray | None, task: str, labels: np.ndarray | None,
                 quantized: bool = False) -> dict[str, Any]:
    """Run both on ``x`` (raw inputs) and compare; returns the figures and ``passed``."""
    ref = _outputs(reference, x, lengths)
    got = _outputs(artifact, x, lengths)
    diff = float(np.max(np.abs(ref.astype(np.float64) - got))) if ref.size else 0.0
    finite = bool(np.isfinite(got).all())
    tolerance = TOLERANCE
    if task != "classification" and ref.size:
        tolerance *= max(1.0, float(np.max(np.abs(ref))))
    out: dict[str, Any] = {"examples": int(len(x)), "max_abs_diff": diff,
                           "tolerance": None if quantized else tolerance}
    passed = finite and (quantized or diff <= tolerance)
    if task == "classification":
        ref_cls, got_cls = ref.argmax(1), got.argmax(1)
        same = int((ref_cls == got_cls).sum())
        out.update(agreement=same / len(ref_cls), classes_identical=same == len(ref_cls),
                   class_mismatches=int(len(ref_cls) - same))
        if labels is not None:
            n = len(labels)
            out["accuracy_pytorch"] = float((ref_cls[:n] == labels).mean())
            out["accuracy_artifact"] = float((got_cls[:n] == labels).mean())
            if quantized:
                passed = passed and (out["accuracy_pytorch"] - out["accuracy_artifact"]
                                     <= INT8_ACCURACY_DROP)
        if not quantized:
            passed = passed and same == len(ref_cls)
    elif quantized:
        scale = float(np.max(np.abs(ref))) or 1.0
        out["relative_max_diff"] = diff / scale
    out["passed"] = bool(passed)
    return out


def describe_failure(result: dict[str, Any]) -> str:
    """One line saying why parity failed."""
    if result.get("tolerance") is not None and result["max_abs_diff"] > result["tolerance"]:
        return (f"outputs differ from PyTorch by up to {result['max_abs_diff']:.3g} "
                f"(limit {result['tolerance']:g}) on {result['examples']} test examples")
    if result.get("class_mismatches"):
        return (f"{result['class_mismatches']} of {result['examples']} predicted classes differ "
                "from PyTorch")
    if "accuracy_artifact" in result:
        return (f"accuracy {result['accuracy_artifact']:.4f} against PyTorch's "
                f"{result['accuracy_pytorch']:.4f} (more than {INT8_ACCURACY_DROP:g} lower)")
    return "the artifact returns NaN or infinity"
