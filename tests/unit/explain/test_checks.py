"""The checks on a model whose true attributions are known: a linear one."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from archopt.data.dataset import DataShape
from archopt.explain import checks, groups
from archopt.explain.methods import Context, run_method
from archopt.explain.subject import ExplainedModel


def linear(weights: list[float], normalization: dict | None = None) -> ExplainedModel:
    shape = DataShape("tabular", (len(weights),), "regression", 1)
    lin = nn.Linear(len(weights), 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([weights]))
        lin.bias.zero_()
    return ExplainedModel(lin, shape, normalization or {})


def test_feature_masks_cover_every_element_once() -> None:
    img = groups.feature_mask("image", (3, 16, 16))
    assert img.shape == (1, 3, 16, 16) and int(img.max()) + 1 == 36  # 6 x 6 patches of 3
    assert (img[0, 0] == img[0, 2]).all()  # a patch takes every channel
    seq = groups.feature_mask("sequence", (40, 2))
    assert int(seq.max()) + 1 == 14 * 2 and seq[0, 0, 0] != seq[0, 0, 1]
    assert groups.feature_mask("tabular", (5,)).tolist() == [[0, 1, 2, 3, 4]]


def test_integrated_gradients_of_a_linear_model_are_weight_times_distance_in_raw_units() -> None:
    # normalization inside: f(raw) = w . (raw - mean) / std, so attr_i = w_i (x_i - b_i) / std_i
    model = linear([2.0, -1.0, 0.5], {"mean": [1.0, 2.0, 3.0], "std": [2.0, 1.0, 0.5]})
    ctx = Context(model, "tabular", (3,), torch.tensor([1.0, 2.0, 3.0]), torch.zeros(4, 3))
    x = torch.tensor([[3.0, 0.0, 4.0]])
    attr, info = run_method("integrated_gradients", ctx, x, torch.zeros(1, dtype=torch.long),
                            None)
    torch.testing.assert_close(attr, torch.tensor([[2.0, 2.0, 1.0]]))
    assert info["completeness"]["holds"]


def test_deletion_ranks_the_true_order_above_random_and_the_reverse_below() -> None:
    model = linear([4.0, 2.0, 1.0, 0.5, 0.25, 0.1])
    x = torch.ones(8, 6)
    target = torch.zeros(8, dtype=torch.long)
    true = torch.tensor([4.0, 2.0, 1.0, 0.5, 0.25, 0.1]).expand(8, -1)
    res = checks.deletion(model, "tabular", x, target, None, torch.zeros(6),
                          {"true": true, "reverse": -true})
    m, rand = res["methods"], res["random"]["area"]
    assert m["true"]["area"] < rand < m["reverse"]["area"]
    assert res["ranking"] == ["true", "reverse"]
    assert m["true"]["curve"][0] == pytest.approx(7.85) and m["true"]["curve"][-1] == 0.0


def test_deletion_of_padded_sequences_removes_only_real_steps() -> None:
    mask = groups.feature_mask("sequence", (8, 1))  # segments of one step
    live = checks.live_groups(mask, torch.tensor([3, 8]), "sequence", 2)
    assert live.sum(1).tolist() == [3, 8]


def test_randomization_cascades_from_the_output_layer() -> None:
    model = ExplainedModel(nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)),
                           DataShape("tabular", (4,), "classification", 2), {})
    layers = checks.weighted_layers(model.model)
    assert layers == ["2", "0"]
    rand = checks.randomized(model, layers, 1, seed=0)
    assert not torch.equal(rand.model[2].weight, model.model[2].weight)
    assert torch.equal(rand.model[0].weight, model.model[0].weight)
    assert checks.cascade_stages(list("abcdefg")) == [1, 5, 7]
    a = torch.tensor([[1.0, 2.0, 3.0]])
    assert checks.spearman(a, a * 2) == pytest.approx(1.0)
    assert checks.spearman(a, torch.tensor([[3.0, 2.0, 1.0]])) == pytest.approx(-1.0)
