"""``search.latency.runtime``: candidates timed in PyTorch eager or exported to ONNX and timed
in an ONNX Runtime session; the runtime is part of the latency cache key, a candidate that does
not export is a UserError naming the field (its trial fails, not the study)."""

from __future__ import annotations

import pytest

from archopt.data import load_data
from archopt.errors import UserError
from archopt.models import build_model
from archopt.report.profile import example_input
from archopt.search import costs
from archopt.spec import load_spec

pytest.importorskip("onnxruntime")

SPEC = {"name": "s", "seed": 0, "data": {"name": "digits", "batch_size": 64},
        "model": {"name": "cnn", "channels": [4], "kernel_sizes": 3}, "train": {"epochs": 1}}
OPTIONS = {"batch_size": 1, "throughput_batch": 8, "rounds": 2, "repeats": 2, "warmup": 1,
           "threads": 1}


@pytest.fixture(scope="module")
def cnn():
    spec = load_spec(SPEC, validate_plugins=False)
    shape = load_data(spec.data, spec.seed).shape
    return spec, shape, build_model(spec.model, shape, seed=0).eval()


def test_the_runtime_is_part_of_the_cache_key(cnn):
    spec, shape, _ = cnn
    torch_key = costs.cache_key(spec, shape, OPTIONS, "cpu")
    # torch's key is the one older studies wrote (no runtime field): their caches still hit
    assert costs.cache_key(spec, shape, {**OPTIONS, "runtime": "torch"}, "cpu") == torch_key
    ort_key = costs.cache_key(spec, shape, {**OPTIONS, "runtime": "onnxruntime"}, "cpu")
    assert ort_key != torch_key


def test_onnxruntime_times_an_ort_session_with_the_same_outputs(cnn):
    import numpy as np
    import torch

    _, shape, model = cnn
    xs = [example_input(model, shape, b) for b in (1, 8)]
    timed, inputs = costs.on_runtime(model, xs, {**OPTIONS, "runtime": "onnxruntime"})
    assert isinstance(timed, costs.OrtCall) and all(isinstance(x, np.ndarray) for x in inputs)
    with torch.no_grad():  # the session computes the model (batch axis dynamic)
        for x, a in zip(xs, inputs):
            assert np.allclose(timed(a)[0], model(x).numpy(), atol=1e-4)
    assert costs.on_runtime(model, xs, OPTIONS) == (model, xs)  # torch: the model itself
    out = costs.latency_costs(model, shape, {**OPTIONS, "runtime": "onnxruntime"}, "cpu")
    assert out["latency_ms"] > 0 and out["throughput"] > 0
    assert "onnxruntime" in costs.runtime_label({**OPTIONS, "runtime": "onnxruntime"})
    assert "torch" in costs.runtime_label(OPTIONS)


def test_a_candidate_that_does_not_export_is_a_user_error_naming_the_field(cnn, monkeypatch):
    import archopt.compress.onnxrt as onnxrt

    def refuse(*_a, **_k):
        raise RuntimeError("Unsupported: aten::something\nmore detail")

    monkeypatch.setattr(onnxrt, "export_float", refuse)
    _, shape, model = cnn
    with pytest.raises(UserError) as err:
        costs.on_runtime(model, [example_input(model, shape, 1)],
                         {**OPTIONS, "runtime": "onnxruntime"})
    assert err.value.where == "search.latency.runtime"
    assert "does not export to ONNX (RuntimeError: Unsupported: aten::something)" in str(
        err.value)


def test_onnxruntime_missing_is_a_user_error_with_the_install_line(monkeypatch):
    import sys

    costs.check_runtime("torch")  # nothing to check
    costs.check_runtime("onnxruntime")  # installed here
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime: ImportError
    with pytest.raises(UserError) as err:
        costs.check_runtime("onnxruntime")
    assert err.value.where == "search.latency.runtime"
    assert "pip install 'archopt[export]'" in err.value.hint


def test_a_reference_that_does_not_export_is_left_untimed_not_the_front(tmp_path, monkeypatch):
    import yaml

    import archopt.compress.onnxrt as onnxrt
    from archopt.search.front import remeasure

    real, calls = onnxrt.export_float, []

    def second_refuses(model, example):
        calls.append(1)
        if len(calls) == 2:  # the reference (timed after the front's member)
            raise RuntimeError("Unsupported: aten::something")
        return real(model, example)

    monkeypatch.setattr(onnxrt, "export_float", second_refuses)
    for name in ("member", "ref"):
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(SPEC))
    rows, refs = [{"spec": "member.yaml"}], [{"name": "ref", "spec": str(tmp_path / "ref.yaml")}]
    remeasure(tmp_path, rows, refs, {**OPTIONS, "runtime": "onnxruntime"})
    assert rows[0]["latency_ms_again"] > 0 and "latency_error" not in rows[0]
    assert "latency_ms_again" not in refs[0] and "does not export" in refs[0]["latency_error"]
    assert refs[0]["params"] == rows[0]["params"] > 0
