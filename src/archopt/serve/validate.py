"""Request validation: JSON ``inputs`` -> a float32 batch of the artifact's shape, or a
``RequestError`` (an HTTP status and a message that names what is wrong).

``inputs`` is one example (nested lists of the example's shape) or a list of examples. Variable-
length sequences may have any number of steps from 1 to the training length; they are padded
with zeros and their lengths passed to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

F32_MAX = float(np.finfo(np.float32).max)


class RequestError(Exception):
    """A bad request: ``status`` (4xx) and a one-line ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Batch:
    """A validated request: inputs (N, *shape), lengths (N,) or None, and whether it was one
    example (answered as a list of one)."""

    x: np.ndarray
    lengths: np.ndarray | None
    single: bool


def _depth(v: Any) -> int:
    d = 0
    while isinstance(v, list):
        if not v:
            return d + 1
        v, d = v[0], d + 1
    return d


def _numbers(v: Any, where: str) -> np.ndarray:
    """A float64 array of ``v``, or a 422 saying why not (ragged, not numbers)."""
    try:
        a = np.asarray(v)
    except ValueError:
        raise RequestError(422, f"{where}: examples or rows have different lengths (ragged "
                           "lists)") from None
    if a.dtype == object:
        raise RequestError(422, f"{where}: examples or rows have different lengths, or hold "
                           "something other than numbers")
    if a.dtype.kind not in "iuf":
        kind = {"b": "true/false", "U": "strings", "S": "strings"}.get(a.dtype.kind, a.dtype.kind)
        raise RequestError(422, f"{where}: must hold numbers, not {kind}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise RequestError(422, f"{where}: holds NaN or infinity; send finite numbers")
    if np.abs(a).max(initial=0.0) > F32_MAX:
        raise RequestError(422, f"{where}: holds a value beyond float32's range")
    return a


def _shape_text(shape: list[int]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def parse_inputs(inputs: Any, metadata: dict[str, Any], max_examples: int) -> Batch:
    """Validate ``inputs`` against the artifact's input shape; see the module docstring."""
    spec = metadata["inputs"]
    shape = [int(s) for s in spec["shape"][1:]]
    variable = bool((spec.get("variable_length") or {}).get("lengths_input"))
    if not isinstance(inputs, list):
        raise RequestError(422, "inputs: must be a list: one example of shape "
                           f"{_shape_text(shape)} or a list of such examples")
    if not inputs:
        raise RequestError(422, "inputs: is empty; send one example or a list of examples")
    depth = _depth(inputs)
    if depth not in (len(shape), len(shape) + 1):
        raise RequestError(422, f"inputs: nested {depth} levels deep, but one example has shape "
                           f"{_shape_text(shape)} ({len(shape)} levels; {len(shape) + 1} for a "
                           "list of examples)")
    single = depth == len(shape)
    examples = [inputs] if single else inputs
    if len(examples) > max_examples:
        raise RequestError(413, f"inputs: {len(examples)} examples in one request; at most "
                           f"{max_examples} (split the request)")
    if variable:
        return _variable(examples, shape, single)
    a = _numbers(examples, "inputs")
    if list(a.shape[1:]) != shape:
        got = list(a.shape[1:]) if a.ndim == len(shape) + 1 else list(a.shape)
        raise RequestError(422, f"inputs: an example has shape {_shape_text(got)} but the model "
                           f"takes {_shape_text(shape)}")
    return Batch(a.astype(np.float32), None, single)


def _variable(examples: list, shape: list[int], single: bool) -> Batch:
    steps, features = shape
    x = np.zeros((len(examples), steps, features), dtype=np.float32)
    lengths = np.zeros(len(examples), dtype=np.int64)
    for i, ex in enumerate(examples):
        where = "inputs" if single else f"inputs[{i}]"
        a = _numbers(ex, where)
        if a.ndim != 2 or a.shape[1] != features or not 1 <= a.shape[0] <= steps:
            raise RequestError(422, f"{where}: has shape {_shape_text(list(a.shape))} but a "
                               f"sequence here is (steps, {features}) with 1 to {steps} steps")
        x[i, :len(a)] = a
        lengths[i] = len(a)
    return Batch(x, lengths, single)
