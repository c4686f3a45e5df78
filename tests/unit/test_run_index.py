"""Registry rows from files alone: filters, sorting, spec differences."""

from __future__ import annotations

import pytest

from archopt.errors import UserError
from archopt.run_compare import flatten, metric_rows, spec_differences
from archopt.run_index import parse_filter, sort_rows

ROWS = [{"name": "a", "status": "finished", "model": "cnn", "value": 0.9},
        {"name": "b", "status": "killed", "model": "mlp", "value": None},
        {"name": "c", "status": "failed", "model": "cnn_small", "value": 0.5}]


@pytest.mark.parametrize("expr,want", [
    ("status=finished", ["a"]), ("status!=finished", ["b", "c"]),
    ("status=killed,failed", ["b", "c"]), ("model=cnn*", ["a", "c"]),
    ("value>0.6", ["a"]), ("value<=0.5", ["c"]), ("value=0.9", ["a"]),
])
def test_filters(expr, want):
    keep = parse_filter(expr)
    assert [r["name"] for r in ROWS if keep(r)] == want


def test_sort_puts_empty_values_last():
    assert [r["name"] for r in sort_rows(ROWS, "value")] == ["c", "a", "b"]
    assert [r["name"] for r in sort_rows(ROWS, "-value")] == ["a", "c", "b"]
    assert [r["name"] for r in sort_rows(ROWS, "-name")] == ["c", "b", "a"]
    with pytest.raises(UserError, match="unknown column"):
        sort_rows(ROWS, "colour")


def test_spec_differences_and_metric_rows():
    a = {"model": {"name": "mlp", "hidden": [8]}, "train": {"optimizer": {"lr": 0.1}}}
    b = {"model": {"name": "mlp", "hidden": [16]}, "train": {"optimizer": {"lr": 0.1},
                                                              "epochs": 3}}
    assert flatten(a) == {"model.name": "mlp", "model.hidden": [8], "train.optimizer.lr": 0.1}
    assert spec_differences([a, b]) == [("model.hidden", [[8], [16]]),
                                        ("train.epochs", [None, 3])]
    rows = metric_rows([{"test": {"accuracy": 0.5, "confusion_matrix": [[1]]}, "epochs": 2},
                        {"test": {"accuracy": 0.7}}])
    assert rows == [("test.accuracy", [0.5, 0.7]), ("epochs", [2, None])]
