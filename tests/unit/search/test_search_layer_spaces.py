"""Architecture spaces over single layers and toggles: a choice per item of a ``sequential``
list (which layer goes there, a residual block or not), residual connections of an MLP, and
attention pooling of a recurrent net. Every candidate is built for the data, and the module
that comes out is the one its parameters name."""

from __future__ import annotations

import json

import pytest
from torch import nn

from archopt.data import load_data
from archopt.search.candidates import check_space, draw
from archopt.tune import space as sp

LAYERS = [{"linear": {"out_features": 16}}, "relu", {"linear": {"out_features": "auto"}}]
SEQ = {"name": "s", "seed": 0, "data": {"name": "digits", "batch_size": 64},
       "model": {"name": "sequential", "layers": [{"flatten": {}}, *LAYERS]},
       "train": {"epochs": 1}}


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits"}, seed=0)


def _kinds(model: nn.Module) -> list[type]:
    return [type(m) for m in model.modules()]


def _value(v: object) -> object:
    """An Optuna parameter as the YAML value it stands for (mappings are stored as JSON)."""
    return json.loads(v) if isinstance(v, str) and v[:1] in "{[" else v


def test_a_choice_per_layer_of_a_sequential_list(digits):
    residual = {"residual": [{"linear": {"out_features": 16}}, "tanh"]}
    space = sp.parse_space({
        "model.layers.1": {"choice": [{"linear": {"out_features": 16}},
                                      {"linear": {"out_features": 16, "bias": False}}]},
        "model.layers.2": {"choice": ["relu", "tanh", "gelu", residual]}})
    cands = draw(space, SEQ, digits.shape, 16, seed=0)
    seen = set()
    for c in cands:
        assert c.model is not None, c.error
        layers = c.spec.model.params()["layers"]
        chosen = _value(c.params["model.layers.2"])
        assert len(layers) == 4 and layers[2] == chosen
        kinds = _kinds(c.model)
        seen.add(str(chosen))
        if chosen == residual:  # the block wraps its own linear + tanh
            assert any(k.__name__ == "Residual" for k in kinds) and nn.Tanh in kinds
            assert sum(k is nn.Linear for k in kinds) == 3
        else:
            want = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}[chosen]
            assert want in kinds and sum(k is nn.Linear for k in kinds) == 2
        first = [m for m in c.model.modules() if isinstance(m, nn.Linear)][0]
        assert (first.bias is None) == ("bias" in _value(c.params["model.layers.1"])["linear"])
    assert len(seen) == 4  # every option of the layer choice was drawn
    assert check_space(space, SEQ, digits.shape, n=8).built == 8


def test_residual_toggle_of_an_mlp(digits):
    base = {**SEQ, "model": {"name": "mlp", "hidden": [16, 16]}}
    space = sp.parse_space({"model.residual": {"choice": [False, True]}})
    cands = draw(space, base, digits.shape, 8, seed=0)
    assert {c.params["model.residual"] for c in cands} == {False, True}
    x = digits.train.x[:4]
    for c in cands:
        assert c.model is not None, c.error
        assert c.spec.model.params()["residual"] is c.params["model.residual"]
        blocks = [m for m in c.model.modules() if hasattr(m, "residual")]
        # the 16 -> 16 block adds its input when toggled on (64 -> 16 cannot)
        assert [b.residual for b in blocks] == [False, c.params["model.residual"]]
        assert c.model(x).shape == (4, 10)


def test_attention_pooling_toggle_of_a_recurrent_net():
    data = load_data({"name": "synthetic", "kind": "sequence", "num_train": 32,
                      "num_test": 8, "length": 12, "features": 3}, seed=0)
    base = {"name": "s", "seed": 0, "data": {"name": "synthetic", "kind": "sequence"},
            "model": {"name": "rnn", "cell": "gru", "hidden": 8}, "train": {"epochs": 1}}
    space = sp.parse_space({"model.pooling": {"choice": ["last", "mean", "attention"]},
                            "model.bidirectional": {"choice": [False, True]}})
    cands = draw(space, base, data.shape, 8, seed=0)
    assert {c.params["model.pooling"] for c in cands} == {"last", "mean", "attention"}
    x = data.train.x[:4]
    for c in cands:
        assert c.model is not None, c.error
        attention = c.params["model.pooling"] == "attention"
        pools = [m for m in c.model.modules() if type(m).__name__ == "AttentionPool"]
        assert len(pools) == (1 if attention else 0)
        assert c.model(x).shape[0] == 4
    # attention pooling adds parameters (its scoring layer) to the same recurrent net
    sizes = {(c.params["model.pooling"], c.params["model.bidirectional"]):
             sum(p.numel() for p in c.model.parameters()) for c in cands}
    for bi in (False, True):
        if ("attention", bi) in sizes and ("last", bi) in sizes:
            assert sizes[("attention", bi)] > sizes[("last", bi)]
