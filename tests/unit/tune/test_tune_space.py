"""Spaces over spec paths: parsing, sampling through a real Optuna trial, applying, grids."""

from __future__ import annotations

import optuna
import pytest

from archopt.errors import UserError
from archopt.tune import space as sp

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "train.optimizer.lr": {"float": [1e-4, 1e-1], "log": True},
    "data.batch_size": {"int": [32, 128], "step": 32},
    "model.channels": {"choice": [[8, 8], [16, 16, 16]]},
    "train.optimizer": {"choice": [
        {"option": {"name": "sgd"}, "space": {"train.optimizer.momentum": {"float": [0, 0.9]}}},
        {"option": {"name": "adam"}}]},
    "model.kernel_sizes": {"list": {"length": [1, 3], "item": {"choice": [3, 5]}}},
}


def test_sample_covers_every_branch_and_applies_in_order():
    space = sp.parse_space(SPACE)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_opts, lengths = set(), set()
    for _ in range(40):
        trial = study.ask()
        values = sp.sample(trial, space)
        data = sp.apply({"train": {"optimizer": {"name": "adam", "lr": 1.0}}}, values)
        opt = data["train"]["optimizer"]
        seen_opts.add(opt["name"])
        assert 1e-4 <= opt["lr"] <= 1e-1  # the lr path is applied after the section's choice
        assert ("momentum" in opt) == (opt["name"] == "sgd")
        assert data["data"]["batch_size"] in (32, 64, 96, 128)
        ks = data["model"]["kernel_sizes"]
        lengths.add(len(ks))
        assert set(ks) <= {3, 5} and trial.params["model.kernel_sizes.length"] == len(ks)
        study.tell(trial, 0.0)
    assert seen_opts == {"sgd", "adam"} and lengths == {1, 2, 3}


def test_labels_are_short_and_distinct():
    c = sp.parse_dist({"choice": [{"name": "sgd", "lr": 0.1}, {"name": "adam"}, [1, 2], 3]},
                      "x")
    assert [o.label for o in c.options] == ["sgd", "adam", "[1,2]", 3]
    with pytest.raises(UserError, match="twice"):
        sp.parse_dist({"choice": [1, 1]}, "x")


def test_grid_values_and_refusals():
    g = sp.grid(sp.parse_space({"a": {"float": [0.1, 0.3], "step": 0.1},
                                "b": {"int": [1, 5], "step": 2}, "c": {"choice": ["x", "y"]}}))
    assert g == {"a": [0.1, 0.2, 0.3], "b": [1, 3, 5], "c": ["x", "y"]}
    assert sp.grid_size(g) == 18
    with pytest.raises(UserError, match="conditional"):
        sp.grid(sp.parse_space({"train.optimizer": SPACE["train.optimizer"]}))
    with pytest.raises(UserError, match="list space"):
        sp.grid(sp.parse_space({"m": SPACE["model.kernel_sizes"]}))


def test_branches_reach_every_conditional_path_and_both_bounds():
    paths, lrs = set(), set()
    for b in sp.branches(sp.parse_space(SPACE)):
        paths |= set(b)
        lrs.add(b["train.optimizer.lr"])
    assert "train.optimizer.momentum" in paths
    assert lrs == {1e-4, 1e-1}


@pytest.mark.parametrize("bad,needle", [
    ({"float": [1, 0]}, "low must be below high"),
    ({"float": [0, 1], "log": True}, "low > 0"),
    ({"int": [1.5, 3]}, "ints"),
    ({"choice": []}, "empty choice"),
    ({"float": [0, 1], "int": [0, 1]}, "exactly one"),
    ({"flaot": [0, 1]}, "did you mean 'float'"),
    ({"float": [0.1, 1], "log": True, "step": 0.1}, "cannot be combined"),
    ({"choice": [1, 2], "log": True}, "not to choice"),
    ({"list": {"length": [0, 2], "item": {"choice": [1]}}}, "at least one"),
])
def test_bad_distributions(bad, needle):
    with pytest.raises(UserError) as err:
        sp.parse_dist(bad, "tune.space.x")
    assert needle in err.value.format()


def test_set_path_indexes_lists():
    data = {"model": {"channels": [8, 8]}}
    sp.set_path(data, "model.channels.1", 32)
    assert data["model"]["channels"] == [8, 32]
    with pytest.raises(UserError, match="past the list"):
        sp.set_path(data, "model.channels.5", 1)
