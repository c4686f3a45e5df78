"""Architecture spaces in YAML (``search.space``): variable depth with per-stage sibling lists,
a choice of model families each with its own sub-space; candidates drawn and built for the
data before any trial, and the zero-cost pre-screen."""

from __future__ import annotations

import pytest

from archopt.data import load_data
from archopt.errors import UserError
from archopt.search.candidates import check_space, draw, prescreen
from archopt.search.schema import PrescreenSpec
from archopt.tune import space as sp

BASE = {"name": "s", "seed": 0, "data": {"name": "digits", "batch_size": 64},
        "model": {"name": "cnn", "channels": [4]}, "train": {"epochs": 1}}


@pytest.fixture(scope="module")
def digits():
    return load_data({"name": "digits"}, seed=0)


def test_variable_depth_with_per_stage_siblings_builds_every_depth(digits):
    space = sp.parse_space({"model.channels": {"list": {
        "length": [1, 3], "item": {"choice": [4, 8]},
        "with": {"kernel_sizes": {"choice": [3, 5]}, "strides": {"choice": [1, 2]}}}}})
    cands = draw(space, BASE, digits.shape, 16, seed=0)
    depths = set()
    for c in cands:
        m = c.spec.model.params()
        n = c.params["model.channels.length"]
        depths.add(n)
        assert len(m["channels"]) == len(m["kernel_sizes"]) == len(m["strides"]) == n
        assert m["kernel_sizes"] == [c.params[f"model.kernel_sizes.{i}"] for i in range(n)]
        assert c.model is not None, c.error
    assert depths == {1, 2, 3}


def test_family_choice_with_sub_spaces(digits):
    space = sp.parse_space({"model": {"choice": [
        {"option": {"name": "cnn", "channels": [4]},
         "space": {"model.channels": {"list": {"length": [1, 2], "item": {"choice": [4, 8]}}}}},
        {"option": {"name": "mlp", "hidden": [8]},
         "space": {"model.hidden": {"choice": [[8], [16, 8]]}, "model.dropout":
                   {"float": [0.0, 0.3]}}}]}})
    cands = draw(space, BASE, digits.shape, 12, seed=1)
    fams = {c.spec.model.name for c in cands}
    assert fams == {"cnn", "mlp"}
    for c in cands:
        assert c.model is not None, c.error
        own = {k.split(".")[1] for k in c.params if k.startswith("model.")}
        assert ("hidden" in own) == (c.spec.model.name == "mlp")  # only its family's fields
    assert check_space(space, BASE, digits.shape, n=8).built == 8


def test_a_space_that_never_builds_is_an_error_before_trial_one(digits):
    space = sp.parse_space({"model.dims": {"choice": [1]}})  # 1-D convolutions over images
    with pytest.raises(UserError, match="none of 6 sampled candidates builds") as e:
        check_space(space, BASE, digits.shape, n=6)
    assert e.value.where == "search.space"


def test_prescreen_scores_untrained_candidates_best_first_within_the_params_budget(digits):
    space = sp.parse_space({"model.channels": {"list": {"length": [1, 2],
                                                        "item": {"choice": [4, 32]}}}})
    opts = PrescreenSpec(candidates=10, keep=3, batch_size=32)
    scored = prescreen(space, BASE, digits, opts, {"params": (None, 2000.0)}, seed=0)
    assert scored and [c.score for c in scored] == sorted((c.score for c in scored),
                                                          reverse=True)
    assert len(scored) < 10  # the 32-then-32 candidates (over 2,000 parameters) left out
    for c in scored:
        from archopt.models import build_model

        model = build_model(c.spec.model, digits.shape, seed=0)
        assert sum(p.numel() for p in model.parameters()) <= 2000


def test_prescreen_leaves_out_candidates_over_a_latency_budget(digits):
    space = sp.parse_space({"model.channels": {"list": {"length": [1, 2],
                                                        "item": {"choice": [4, 8]}}}})
    opts = PrescreenSpec(candidates=4, keep=2, batch_size=16)
    timing = {"batch_size": 1, "throughput_batch": None, "rounds": 1, "repeats": 2,
              "warmup": 1, "threads": 1}
    assert prescreen(space, BASE, digits, opts, {"latency_ms": (None, 1e-6)}, 0, timing) == []
    assert len(prescreen(space, BASE, digits, opts, {"latency_ms": (None, 1e6)}, 0, timing)) == 4


def test_prescreen_leaves_out_candidates_over_a_throughput_batch_budget(digits):
    space = sp.parse_space({"model.channels": {"list": {"length": [1, 2],
                                                        "item": {"choice": [4, 8]}}}})
    opts = PrescreenSpec(candidates=4, keep=2, batch_size=16)
    timing = {"batch_size": 1, "throughput_batch": 32, "rounds": 1, "repeats": 2,
              "warmup": 1, "threads": 1}
    for budget in ({"batch_latency_ms": (None, 1e-6)}, {"throughput": (1e12, None)}):
        assert prescreen(space, BASE, digits, opts, budget, 0, timing) == []
    assert len(prescreen(space, BASE, digits, opts, {"batch_latency_ms": (None, 1e6)}, 0,
                         timing)) == 4
