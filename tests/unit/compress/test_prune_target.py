"""The stopping rule of a pruning target, with a fake latency measure (no timings): pruning goes
round after round until the measure is at or below the goal, then stops; an unreachable goal is
a UserError naming the field."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("torch_pruning")

from archopt.compress import prune  # noqa: E402
from archopt.data.dataset import DataShape  # noqa: E402
from archopt.errors import UserError  # noqa: E402
from archopt.models import build_model  # noqa: E402
from archopt.spec.schema import PruneStep  # noqa: E402

SEQ = DataShape("sequence", (40, 1), "classification", 10)


def setup(goal_ms: float):
    model = build_model({"name": "cnn", "channels": [16, 16], "norm": "batch",
                         "global_pool": True}, SEQ, seed=0)
    step = PruneStep(name="prune", target={"latency_ms": goal_ms})
    ignored = prune.ignored_layers(model, [], SEQ.num_outputs, "t")
    return model, step, ignored, torch.randn(2, 40, 1)


def params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_latency_target_stops_at_the_first_round_that_meets_it():
    model, step, ignored, x = setup(goal_ms=0.6)
    start = params(model)
    calls = []

    def fake_latency(m):  # "milliseconds" proportional to the parameters left
        calls.append(params(m))
        return params(m) / start

    path = prune.prune_to_target(model, x, step, ignored, fake_latency, None, "t")
    values = [p["latency_ms"] for p in path]
    assert values[0] == pytest.approx(1.0)
    assert values[-1] <= 0.6 < min(values[:-1])  # met in the last round, not before
    assert all(a > b for a, b in zip(values, values[1:]))  # every round pruned something
    assert len(calls) == len(path)  # measured once per round, on the model being pruned
    assert params(model) == calls[-1]


def test_unreachable_latency_target_is_a_user_error():
    model, step, ignored, x = setup(goal_ms=0.5)
    with pytest.raises(UserError, match="above the target") as err:
        prune.prune_to_target(model, x, step, ignored, lambda m: 1.0, None, "compress.steps.0",
                              max_rounds=3)
    assert err.value.where == "compress.steps.0.target.latency_ms"


def test_target_above_the_current_latency_is_refused_before_pruning():
    model, step, ignored, x = setup(goal_ms=2.0)
    before = params(model)
    with pytest.raises(UserError, match="not below"):
        prune.prune_to_target(model, x, step, ignored, lambda m: 1.0, None, "t")
    assert params(model) == before


def test_runtime_is_only_for_latency_targets():
    with pytest.raises(ValueError, match="latency_ms"):
        PruneStep(name="prune", target={"macs": 100, "runtime": "onnxruntime"})
    assert PruneStep(name="prune", target={"latency_ms": 1, "runtime": "onnxruntime"}
                     ).target.runtime == "onnxruntime"


def test_clock_is_cpu_time_only_on_one_thread():
    from archopt.compress.measure import clock

    assert clock("auto", 1) == "cpu"
    assert clock("auto", 2) == "wall" and clock("auto", None) == "wall"
    assert clock("wall", 1) == "wall"
