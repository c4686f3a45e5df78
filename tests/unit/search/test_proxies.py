"""Zero-cost proxies against hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from archopt.search.proxies import naswot, score_spec, synflow


def chain(widths: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b, bias=False), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def test_synflow_of_a_bias_free_chain_is_depth_times_its_positive_output():
    torch.manual_seed(0)
    net = chain([3, 4, 2, 1])
    before = [p.clone() for p in net.parameters()]
    # all weights made positive and an all-ones input: R = 1^T |W3| |W2| |W1| 1, and each
    # layer's sum of w * dR/dw is R (R is linear in each layer), so synflow = 3 R
    w1, w2, w3 = (p.detach().abs().double() for p in net.parameters())
    r = float(w3 @ w2 @ w1 @ torch.ones(3, dtype=torch.float64))
    assert synflow(net, torch.randn(5, 3)) == pytest.approx(3 * r, rel=1e-9)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # untouched


def test_naswot_counts_agreeing_units():
    net = nn.Sequential(nn.Linear(1, 2, bias=False), nn.ReLU())
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [-1.0]]))
    # inputs 1 and -1 switch on opposite units: K = [[2, 0], [0, 2]], log det = log 4
    assert naswot(net, torch.tensor([[1.0], [-1.0]])) == pytest.approx(math.log(4.0))
    # two inputs with the same code: K is singular
    assert naswot(net, torch.tensor([[1.0], [2.0]])) == -math.inf


def test_naswot_needs_activation_layers():
    with pytest.raises(ValueError, match="activation"):
        naswot(nn.Linear(3, 2), torch.randn(4, 3))


def test_score_spec_scores_a_model_built_from_a_spec():
    spec = {"seed": 0, "data": {"name": "synthetic", "kind": "image", "val_split": 0.1},
            "model": {"name": "cnn", "channels": [4, 8]}}
    small = score_spec(spec)
    spec["model"]["channels"] = [16, 32]
    wide = score_spec(spec)
    assert set(small) == {"synflow", "naswot"}
    assert all(math.isfinite(v) for v in (*small.values(), *wide.values()))
    assert wide["synflow"] > small["synflow"]  # more paths carry more synaptic flow
