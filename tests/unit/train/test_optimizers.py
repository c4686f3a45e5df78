"""Optimizers: native torch classes, their configs, decay groups."""

import pytest
import torch
from torch import nn

from archopt.errors import UserError
from archopt.spec.schema import OptimizerSpec
from archopt.train.optimizers import build_optimizer


def model():
    return nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))


@pytest.mark.parametrize("name,cls", [("sgd", torch.optim.SGD), ("momentum", torch.optim.SGD),
                                      ("nesterov", torch.optim.SGD),
                                      ("adagrad", torch.optim.Adagrad),
                                      ("rmsprop", torch.optim.RMSprop),
                                      ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)])
def test_each_name_builds_the_torch_optimizer(name, cls):
    opt = build_optimizer(OptimizerSpec(name=name, lr=0.05), model())
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.05


def test_momentum_defaults_and_nesterov():
    assert build_optimizer(OptimizerSpec(name="momentum"), model()).defaults["momentum"] == 0.9
    d = build_optimizer(OptimizerSpec(name="nesterov"), model()).defaults
    assert d["nesterov"] and d["momentum"] == 0.9


def test_adam_options_pass_through():
    spec = OptimizerSpec(name="adam", betas=[0.5, 0.9], eps=1e-6)
    d = build_optimizer(spec, model()).defaults
    assert d["betas"] == (0.5, 0.9) and d["eps"] == 1e-6


def test_momentum_on_adam_is_an_error_naming_the_field():
    with pytest.raises(UserError) as e:
        build_optimizer(OptimizerSpec(name="adam", momentum=0.9), model())
    assert e.value.where == "train.optimizer.momentum"


def test_no_decay_on_norms_and_biases():
    m = model()
    opt = build_optimizer(OptimizerSpec(name="adamw", weight_decay=0.1,
                                        decay_norm_and_bias=False), m)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert {id(p) for p in decay["params"]} == {id(m[0].weight), id(m[2].weight)}
    assert len(no_decay["params"]) == 4  # 2 biases + LayerNorm weight and bias
