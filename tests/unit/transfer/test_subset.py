"""data.classes and data.per_class: some classes renumbered, k labelled examples per class,
normalization fitted on the whole training split."""

import pytest
import torch

from archopt.data import load_data
from archopt.errors import UserError


def test_classes_are_kept_renumbered_and_normalized_as_the_whole_split():
    full = load_data({"name": "digits", "val_split": 0.1}, 5)
    part = load_data({"name": "digits", "val_split": 0.1, "classes": [7, 2]}, 5)
    assert part.class_names == ["7", "2"] and part.shape.num_outputs == 2
    for name in ("train", "val", "test"):
        a, b = getattr(full, name), getattr(part, name)
        keep = (a.y == 7) | (a.y == 2)
        assert torch.equal(b.x, a.x[keep])
        assert torch.equal(b.y, (a.y[keep] == 2).long())
    assert part.normalization == full.normalization


def test_per_class_draws_k_of_each_class_seeded():
    a = load_data({"name": "digits", "val_split": 0.0, "per_class": 3}, 1)
    b = load_data({"name": "digits", "val_split": 0.0, "per_class": 3}, 1)
    c = load_data({"name": "digits", "val_split": 0.0, "per_class": 3}, 2)
    assert torch.bincount(a.train.y).tolist() == [3] * 10
    assert torch.equal(a.train.x, b.train.x) and not torch.equal(a.train.x, c.train.x)
    assert len(a.test) == len(load_data({"name": "digits", "val_split": 0.0}, 1).test)


def test_bad_classes_name_the_field():
    with pytest.raises(UserError, match=r"data.classes: is \[3, 12\]"):
        load_data({"name": "digits", "classes": [3, 12]}, 0)
