"""Parity figures: what passes and what fails, for float and int8 artifacts."""

from __future__ import annotations

import numpy as np

from archopt.export.parity import check_parity, describe_failure

X = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def same(x, lengths=None):
    return softmax(x)


def test_identical_passes_and_exercises_batch_one() -> None:
    calls = []

    def artifact(x, lengths=None):
        calls.append(len(x))
        return softmax(x)

    r = check_parity(same, artifact, X, None, "classification", np.zeros(300, dtype=int))
    assert r["passed"] and r["classes_identical"] and r["max_abs_diff"] == 0
    assert calls == [256, 44, 1]  # chunks, then a batch of one
    assert r["accuracy_artifact"] == r["accuracy_pytorch"]


def test_a_small_difference_fails_with_a_message() -> None:
    r = check_parity(same, lambda x, lengths=None: softmax(x) + 2e-4, X, None,
                     "classification", None)
    assert not r["passed"] and "differ from PyTorch by up to 0.0002" in describe_failure(r)


def test_a_flipped_class_fails() -> None:
    def flip(x, lengths=None):
        p = softmax(x)
        p[0] = p[0][::-1]
        return p

    r = check_parity(same, flip, X, None, "classification", None)
    assert not r["passed"] and r["class_mismatches"] >= 1


def test_regression_tolerance_scales_with_large_outputs() -> None:
    big = X * 5000  # up to ~15,000: float32 spacing there is ~1e-3

    def ref(x, lengths=None):
        return x

    r = check_parity(ref, lambda x, lengths=None: x + 3.0, big, None, "regression", None)
    assert not r["passed"]
    r = check_parity(ref, lambda x, lengths=None: x + 1e-3, big, None, "regression", None)
    assert r["passed"] and r["tolerance"] == 1e-4 * float(np.abs(big).max())
    r = check_parity(ref, lambda x, lengths=None: x + 1e-3, X / 10, None, "regression", None)
    assert not r["passed"] and r["tolerance"] == 1e-4  # small outputs: absolute


def test_int8_reports_agreement_and_accuracy() -> None:
    labels = same(X).argmax(1)

    def noisy(x, lengths=None):
        return softmax(x + np.random.default_rng(1).normal(scale=0.3, size=x.shape))

    r = check_parity(same, noisy, X, None, "classification", labels, quantized=True)
    assert 0.5 < r["agreement"] < 1.0 and r["accuracy_pytorch"] == 1.0
    assert r["accuracy_artifact"] < 1.0 and r["passed"] is False  # more than 0.05 below
    assert r["tolerance"] is None
