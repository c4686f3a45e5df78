"""``profile_model`` / ``profile``: FLOPs from FlopCounterMode, per-layer table, memory, latency."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archopt.data.dataset import DataShape
from archopt.models import build_model
from archopt.report import profile, profile_model
from archopt.report.profile import FLOP_FORMULAS, own_flops

SEQ = DataShape("sequence", (40, 1), "classification", 10)
IMG = DataShape("image", (3, 32, 32), "classification", 10)


def counter_total(model: torch.nn.Module, x: torch.Tensor, **kw) -> int:
    with torch.no_grad(), FlopCounterMode(display=False, **kw) as fc:
        model.eval()(x)
    return fc.get_total_flops()


@pytest.mark.parametrize("section, shape", [
    ({"name": "mnist1d_cnn"}, SEQ),
    ({"name": "mnist1d_gru"}, SEQ),
    ({"name": "lenet5"}, IMG),
    ({"name": "resnet", "widths": [4, 8], "depths": [1, 1], "stem_channels": 4}, IMG),
])
def test_flops_are_the_flop_counters(section: dict, shape: DataShape) -> None:
    model = build_model(section, shape, seed=0)
    r = profile_model(model, shape, batch_size=4, repeats=2)
    assert r["flops"] == counter_total(model, torch.zeros(1, *shape.input_shape)) > 0
    assert sum(row["flops"] for row in r["layers"]) == r["flops"]
    assert sum(row["params"] for row in r["layers"]) == r["params"]


def test_mnist1d_cnn_numbers() -> None:
    r = profile_model(build_model({"name": "mnist1d_cnn"}, SEQ), SEQ, batch_size=8, repeats=3)
    assert r["params"] == r["trainable_params"] == 5_210
    assert r["size_bytes"] == 5_210 * 4
    # conv FLOPs = 2 * out_channels * out_len * in_channels * kernel, per FlopCounterMode
    assert r["flops"] == 2 * (25 * 19 * 1 * 5 + 25 * 10 * 25 * 3 + 25 * 5 * 25 * 3 + 125 * 10)
    convs = [row for row in r["layers"] if row["type"] == "Conv1d"]
    assert [row["output_shape"] for row in convs] == [[1, 25, 19], [1, 25, 10], [1, 25, 5]]
    assert r["latency_ms"]["batch_1"] > 0 and r["latency_ms"]["batch_N"] > 0
    assert r["batch_N"] == 8 and r["threads"] == torch.get_num_threads()
    assert 0 < r["peak_activation_bytes"] <= r["activation_bytes"]


@pytest.mark.filterwarnings("ignore:TF32")
def test_lstm_is_counted() -> None:
    model = build_model({"name": "rnn", "cell": "lstm", "hidden": 4}, SEQ, seed=0)
    r = profile_model(model, SEQ, batch_size=2, repeats=2)
    with torch.backends.mkldnn.flags(enabled=False):
        assert r["flops"] == counter_total(model, torch.zeros(1, 40, 1))
    lstm = next(row for row in r["layers"] if row["type"] == "LSTM")
    assert lstm["flops"] == 2 * 40 * 4 * 4 * (1 + 4)  # 4 gates: input and recurrent products


def test_attention_on_cpu_is_counted() -> None:
    model = build_model({"name": "transformer", "width": 8, "heads": 2, "depth": 1}, SEQ)
    x = torch.zeros(1, 40, 1)
    r = profile_model(model, SEQ, batch_size=2, repeats=2)
    with_attention = counter_total(model, x, custom_mapping=FLOP_FORMULAS)
    assert r["flops"] == with_attention > counter_total(model, x)
    attn = next(row for row in r["layers"] if row["type"] == "SelfAttention")
    # q @ k^T and weights @ v: 2 * (2 * heads * T * T * head_dim), T = 40 + class token
    assert attn["flops"] == 2 * 2 * 2 * 41 * 41 * 4


def test_own_flops_subtracts_nearest_counted_descendants() -> None:
    # "a.list" is a ModuleList: never counted, so "a" owns only what is left over
    assert own_flops({"": 10, "a": 7, "a.list.0": 3, "a.list.1": 2, "b": 3}) == \
        {"": 0, "a": 2, "a.list.0": 3, "a.list.1": 2, "b": 3}


def test_gan_profiles_the_generator() -> None:
    shape = DataShape("image", (1, 8, 8), "classification", 10)
    model = build_model({"name": "gan", "latent": 4, "channels": [8]}, shape)
    r = profile_model(model, shape, batch_size=2, repeats=2)
    assert r["profiled"] == "generator"
    assert r["flops"] == counter_total(model, torch.zeros(1, 4))
    assert r["params"] == sum(p.numel() for p in model.parameters())


def test_profile_a_spec_loads_its_data_shape() -> None:
    spec = {"name": "p", "data": {"name": "synthetic", "kind": "sequence", "length": 16,
                                  "features": 2, "num_classes": 4},
            "model": {"name": "cnn", "channels": [4]}}
    r = profile(spec, ["model.channels=[6]"], batch_size=4, repeats=2)
    assert r["name"] == "p" and r["data"]["input_shape"] == [16, 2]
    conv = next(row for row in r["layers"] if row["type"] == "Conv1d")
    assert conv["output_shape"] == [1, 6, 16] and conv["params"] == 6 * 2 * 3 + 6


def test_profile_a_spec_object_with_overrides() -> None:
    from archopt.spec import load_spec

    spec = load_spec({"data": {"name": "synthetic", "features": 5}, "model": {"name": "mlp"}},
                     validate_plugins=False)
    r = profile(spec, ["model.hidden=[3]"], batch_size=2, repeats=1)
    assert r["params"] == 5 * 3 + 3 + 3 * 3 + 3
