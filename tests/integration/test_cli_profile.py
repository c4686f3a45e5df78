"""`archopt profile` and `archopt models` through the real CLI: results, and bad input that
exits 2 with a message naming the field."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SEQ = {"name": "synthetic", "kind": "sequence", "length": 40, "features": 1, "num_classes": 10,
       "num_train": 32, "num_test": 8}
TAB = {"name": "synthetic", "num_train": 32, "num_test": 8}
IMG = {"name": "synthetic", "kind": "image", "size": 8, "num_train": 32, "num_test": 8}


def spec(model: dict, data: dict = SEQ) -> dict:
    return {"name": "p", "seed": 0, "data": data, "model": model, "train": {"epochs": 1}}


def test_profile_json(cli, write_spec):
    code, out, err = cli("profile", write_spec(spec({"name": "mnist1d_cnn"})), "--json",
                         "--batch-size", "16", "--repeats", "3")
    assert code == 0, err
    r = json.loads(out)
    assert r["params"] == 5_210 and r["flops"] == 63_500
    assert r["size_bytes"] == 4 * 5_210
    assert set(r["latency_ms"]) == {"batch_1", "batch_N"} and r["batch_N"] == 16
    assert r["threads"] >= 1 and len(r["layers"]) > 0


def test_profile_table_with_override(cli, write_spec):
    path = write_spec(spec({"name": "mnist1d_mlp"}))
    code, out, err = cli("profile", path, "--set", "model.hidden=[7]", "--repeats", "2",
                         "--batch-size", "4")
    assert code == 0, err
    assert "parameters" in out and f"{40 * 7 + 7 + 7 * 10 + 10:,}" in out
    assert "latency batch 4" in out and "threads" in out and "Linear" in out


@pytest.mark.parametrize("model, data, needles", [
    ({"name": "cnn", "dims": 2}, SEQ, ["model.dims", "sequence"]),
    ({"name": "cnn", "channels": [4], "kernel_sizes": 60, "padding": 0}, SEQ,
     ["model.kernel_sizes.0", "larger"]),
    ({"name": "transformer", "width": 30, "heads": 4}, SEQ, ["model.heads", "divide"]),
    ({"name": "cnn"}, TAB, ["model.name", "tabular"]),
    ({"name": "sequential", "layers": ["flatten", {"linear": {"out_features": 3}}]}, SEQ,
     ["model", "outputs 3 values per example but the data has 10 classes"]),
    ({"name": "sequential", "layers": [{"conv2d": {"out_channels": 2, "kernel_size": 3}}]}, SEQ,
     ["model.layers.0.conv2d", "(B, C, H, W)"]),
    ({"name": "mlp", "hiden": [3]}, SEQ, ["model.hiden", "hidden"]),
])
def test_bad_models_exit_2_naming_the_field(cli, write_spec, model, data, needles):
    code, out, err = cli("profile", write_spec(spec(model, data)), "--repeats", "1")
    assert code == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"


def test_error_points_at_the_spec_line(cli, write_spec):
    text = ("name: p\ndata: {name: synthetic, kind: image, size: 8}\nmodel:\n  name: cnn\n"
            "  channels: [4]\n  padding: 0\n  kernel_sizes: [20]\n")
    path = write_spec(text)
    code, _, err = cli("profile", path)
    assert code == 2 and f"{path}:7: model.kernel_sizes.0" in err, err


def test_error_points_at_the_override(cli, write_spec):
    path = write_spec(spec({"name": "transformer", "width": 8, "heads": 2}))
    code, _, err = cli("profile", path, "--set", "model.heads=3")
    assert code == 2 and "--set model.heads=3" in err, err


def test_bad_batch_size(cli, write_spec):
    code, _, err = cli("profile", write_spec(spec({"name": "mlp"})), "--batch-size", "0")
    assert code == 2 and "--batch-size" in err


def test_subprocess_prints_no_traceback(write_spec):
    path = write_spec(spec({"name": "rnn", "pooling": "sideways"}))
    proc = subprocess.run([sys.executable, "-m", "archopt.cli.main", "profile", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "model.pooling" in proc.stderr and "Traceback" not in proc.stderr


def test_models_lists_families_and_presets(cli):
    code, out, err = cli("models", "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert {"mlp", "cnn", "resnet", "rnn", "transformer", "autoencoder", "gan",
            "sequential"} <= set(rows)
    assert rows["mnist1d_cnn"]["family"] == "cnn" and rows["dcgan"]["family"] == "gan"
    assert rows["rnn"]["kinds"] == ["sequence"] and rows["lenet5"]["doc"]
    code, out, _ = cli("models", "--filter", "mnist1d")
    assert code == 0 and "mnist1d_gru" in out and "resnet" not in out
