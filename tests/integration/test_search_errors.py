"""Bad search specs: exit status 2 naming the field, before any study directory is written."""

from __future__ import annotations

import pytest

BASE = {
    "name": "s",
    "data": {"name": "digits", "batch_size": 64},
    "model": {"name": "cnn", "channels": [4], "kernel_sizes": 3},
    "train": {"epochs": 1, "threads": 1},
}
SPACE = {"model.channels": {"list": {"length": [1, 2], "item": {"choice": [4, 8]}}}}


def search_spec(**section) -> dict:
    return {**BASE, "search": {"space": SPACE, **section}}


@pytest.mark.parametrize("spec, where, said", [
    ({**BASE, "tune": {"space": SPACE}}, "error: search:", "archopt tune"),
    ({**BASE, "search": {"space": {"train.optimizer.lr": {"float": [0.001, 0.1]}}}},
     "error: search.space:", "model.*"),
    ({**BASE, "search": {"space": {"model.chanels": {"choice": [[4], [8]]}}}},
     "error: search.space.model.chanels", "channels"),
    (search_spec(latency={"batchsize": 4}), "search.latency.batchsize", "batch_size"),
    (search_spec(prescreen={"candidates": 4, "keep": 4}), "search.prescreen", "keep"),
    (search_spec(objectives={"val_acuracy": "max"}), "search.objectives.val_acuracy",
     "val_accuracy"),
    (search_spec(constraints={"latency": {"max": 1}}), "search.constraints.latency",
     "latency_ms"),
    (search_spec(sampler={"name": "evolution", "population": 4}),
     "search.sampler.population", "population_size"),
    ({**BASE, "tune": {"space": SPACE}, "search": {"space": SPACE}}, "error:", "not both"),
    (search_spec(constraints={"peak_activation": {"max": 1}}),
     "search.constraints.peak_activation", "peak_activation_bytes"),
    # the throughput batch's costs with no throughput batch to time
    (search_spec(objectives={"val_accuracy": "max", "throughput": "max"},
                 latency={"throughput_batch": None}), "search.objectives.throughput",
     "throughput_batch"),
    (search_spec(constraints={"batch_latency_ms": {"max": 1}},
                 latency={"throughput_batch": None}), "search.constraints.batch_latency_ms",
     "throughput_batch"),
    # every candidate is a 1-D conv over 8x8 images: none builds
    ({**BASE, "search": {"space": {"model.dims": {"choice": [1]}, **SPACE}}},
     "error: search.space:", "none of"),
])
def test_bad_search_spec_exits_2_naming_the_field(cli, write_spec, tmp_path, spec, where, said):
    out = tmp_path / "study"
    code, _, err = cli("search", write_spec(spec), "--out", out)
    assert code == 2, err
    assert where in err and said in err, err
    assert "Traceback" not in err and not out.exists()


def test_tune_refuses_a_search_spec(cli, write_spec, tmp_path):
    code, _, err = cli("tune", write_spec(search_spec()), "--out", tmp_path / "s")
    assert code == 2 and "archopt search" in err, err


def test_tune_refuses_the_costs_only_a_search_measures(cli, write_spec, tmp_path):
    spec = {**BASE, "tune": {"space": {"train.optimizer.lr": {"float": [0.001, 0.1]}},
                             "constraints": {"peak_activation_bytes": {"max": 4096}}}}
    code, _, err = cli("tune", write_spec(spec), "--out", tmp_path / "s")
    assert code == 2 and "tune.constraints.peak_activation_bytes" in err, err
    assert "archopt search" in err and not (tmp_path / "s").exists()


def test_onnxruntime_runtime_not_installed_exits_2_naming_the_field(cli, write_spec, tmp_path,
                                                                    monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime: ImportError
    out = tmp_path / "study"
    code, _, err = cli("search", write_spec(search_spec(latency={"runtime": "onnxruntime"})),
                       "--out", out)
    assert code == 2, err
    assert "error: search.latency.runtime" in err and "pip install 'archopt[export]'" in err
    assert "Traceback" not in err and not out.exists()
