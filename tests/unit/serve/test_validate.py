"""Request validation: every kind of bad input is a RequestError with a 4xx and a message that
names what is wrong; good inputs become float32 batches (variable-length ones padded)."""

from __future__ import annotations

import numpy as np
import pytest

from archopt.serve.validate import RequestError, parse_inputs

IMAGE = {"inputs": {"name": "inputs", "shape": ["batch", 1, 2, 2], "variable_length": None}}
SEQ = {"inputs": {"name": "inputs", "shape": ["batch", 4, 2],
                  "variable_length": {"lengths_input": "lengths", "max_steps": 4}}}
ONE = [[[1, 2], [3, 4]]]


def test_one_example_and_many() -> None:
    b = parse_inputs(ONE, IMAGE, 8)
    assert b.single and b.x.shape == (1, 1, 2, 2) and b.x.dtype == np.float32
    b = parse_inputs([ONE, ONE, ONE], IMAGE, 8)
    assert not b.single and b.x.shape == (3, 1, 2, 2) and b.lengths is None


def test_variable_length_sequences_are_padded_with_their_lengths() -> None:
    b = parse_inputs([[[1, 1]], [[2, 2], [3, 3], [4, 4]]], SEQ, 8)
    assert b.lengths.tolist() == [1, 3] and b.x.shape == (2, 4, 2)
    assert b.x[0, 1:].sum() == 0 and b.x[1, 2].tolist() == [4, 4]
    assert parse_inputs([[1, 2], [3, 4]], SEQ, 8).single


@pytest.mark.parametrize("inputs, status, words", [
    ({"a": 1}, 422, "must be a list"),
    ([], 422, "is empty"),
    ([1, 2, 3], 422, "nested 1 levels"),
    ([[[[[1]]]]], 422, "nested 5 levels"),
    ([[[1, 2, 3], [3, 4, 5]]], 422, "shape (1, 2, 3) but the model takes (1, 2, 2)"),
    ([[[1, 2], [3]]], 422, "different lengths"),
    ([[["a", "b"], ["c", "d"]]], 422, "numbers, not strings"),
    ([[[True, False], [True, True]]], 422, "numbers, not true/false"),
    ([[[None, 1], [1, 1]]], 422, "other than numbers"),
    ([[[float("nan"), 1], [1, 1]]], 422, "NaN or infinity"),
    ([[[float("inf"), 1], [1, 1]]], 422, "NaN or infinity"),
    ([[[1e300, 1], [1, 1]]], 422, "float32's range"),
    ([ONE] * 9, 413, "9 examples in one request; at most 8"),
])
def test_bad_inputs(inputs, status: int, words: str) -> None:
    with pytest.raises(RequestError) as err:
        parse_inputs(inputs, IMAGE, 8)
    assert err.value.status == status and words in err.value.message


@pytest.mark.parametrize("inputs, words", [
    ([[[1, 1]] * 5], "1 to 4 steps"),
    ([[[1, 1, 1]]], "(steps, 2)"),
    ([[[1, 1]], [[1]]], "inputs[1]"),
])
def test_bad_sequences(inputs, words: str) -> None:
    with pytest.raises(RequestError) as err:
        parse_inputs(inputs, SEQ, 8)
    assert err.value.status == 422 and words in err.value.message
