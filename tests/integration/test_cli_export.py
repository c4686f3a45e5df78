"""`archopt export` end to end on real (tiny) runs: the artifact takes raw inputs and computes
what `archopt eval` measures; every task; variable-length sequences through `lengths`; the
other formats; bad input and failed parity leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import archopt
from archopt.data.load import build_raw
from archopt.spec import load_spec

ort = pytest.importorskip("onnxruntime")

BASE = {"seed": 0, "device": "cpu", "train": {"epochs": 1, "threads": 1}}
RUNS = {
    "digits-mlp": {"data": {"name": "digits", "batch_size": 128, "val_split": 0.1},
                   "model": {"name": "mlp", "hidden": [16]}},
    "diabetes-mlp": {"data": {"name": "diabetes", "batch_size": 64},
                     "model": {"name": "mlp", "hidden": [8]}},
    "variable-gru": {"data": {"name": "synthetic", "kind": "sequence", "variable_length": True,
                              "num_train": 64, "length": 12},
                     "model": {"name": "rnn", "cell": "gru", "hidden": 6, "layers": 2,
                               "bidirectional": True, "pooling": "last"}},
    "digits-vae": {"data": {"name": "digits", "batch_size": 128},
                   "model": {"name": "autoencoder", "hidden": [16], "latent": 4,
                             "variational": True}},
    "digits-gan": {"data": {"name": "digits", "batch_size": 128},
                   "model": {"name": "gan", "latent": 4, "hidden": [8]}},
}


def train(name: str, tmp_path: Path) -> Path:
    spec = archopt.load_spec({**BASE, "name": name, **RUNS[name]})
    return Path(archopt.fit(spec, out=tmp_path / name, quiet=True)["run_dir"])


def onnx_run(folder: Path, x: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
    meta = json.loads((folder / "metadata.json").read_text())
    session = ort.InferenceSession(str(folder / meta["file"]))
    feed = {meta["inputs"]["name"]: x.astype(np.float32)}
    if lengths is not None:
        feed[meta["inputs"]["variable_length"]["lengths_input"]] = lengths
    return session.run(None, feed)[0]


def raw_test(run: Path):
    return build_raw(load_spec(run / "spec.yaml").data).test


def test_classifier_artifact_takes_raw_inputs_and_scores_like_eval(tmp_path, cli) -> None:
    run = train("digits-mlp", tmp_path)
    code, out, err = cli("export", run, "--json")
    assert code == 0, err
    meta = json.loads(out)
    folder = Path(meta["out"])
    assert folder == run / "export" / "onnx"
    assert meta["parity"]["passed"] and meta["parity"]["max_abs_diff"] <= 1e-4
    assert meta["parity"]["classes_identical"]
    assert meta["class_names"] == [str(i) for i in range(10)]
    assert meta["inputs"]["shape"] == ["batch", 1, 8, 8] and meta["inputs"]["dtype"] == "float32"
    assert len(meta["spec_sha256"]) == 64 and meta["archopt_version"]
    # the user's raw pixels (0..16), not normalized ones: the same accuracy as `archopt eval`
    test = raw_test(run)
    probs = onnx_run(folder, test.x.numpy())
    assert np.allclose(probs.sum(1), 1.0, atol=1e-5)
    accuracy = float((probs.argmax(1) == test.y.numpy()).mean())
    assert accuracy == pytest.approx(archopt.evaluate(run)["accuracy"], abs=1e-9)
    assert meta["parity"]["accuracy_artifact"] == pytest.approx(accuracy)
    # never overwritten
    code, _, err = cli("export", run)
    assert code == 2 and "already exists" in err


def test_regression_artifact_predicts_in_target_units(tmp_path, cli) -> None:
    run = train("diabetes-mlp", tmp_path)
    code, out, err = cli("export", run, "--out", tmp_path / "art", "--json")
    assert code == 0, err
    test = raw_test(run)
    values = onnx_run(tmp_path / "art", test.x.numpy())
    mse = float(((values - test.y.numpy().reshape(values.shape)) ** 2).mean())
    assert mse == pytest.approx(archopt.evaluate(run)["mse"], rel=1e-4)
    assert json.loads(out)["normalization_inside"] == {"inputs": True, "target_scale": True}


def test_variable_length_sequences_go_through_lengths(tmp_path, cli) -> None:
    run = train("variable-gru", tmp_path)
    code, out, err = cli("export", run, "--json")
    assert code == 0, err
    meta = json.loads(out)
    assert meta["inputs"]["variable_length"]["lengths_input"] == "lengths"
    test = raw_test(run)
    lengths = test.lengths.numpy().astype(np.int64)
    probs = onnx_run(Path(meta["out"]), test.x.numpy(), lengths)
    accuracy = float((probs.argmax(1) == test.y.numpy()).mean())
    assert accuracy == pytest.approx(archopt.evaluate(run)["accuracy"], abs=1e-9)
    # what lies past a sequence's length does not change its prediction
    noisy = test.x.numpy().copy()
    steps = np.arange(noisy.shape[1])[None, :, None]
    noisy = np.where(steps >= lengths[:, None, None], 99.0, noisy)
    assert np.abs(onnx_run(Path(meta["out"]), noisy, lengths) - probs).max() < 1e-5


@pytest.mark.parametrize("name", ["digits-vae", "digits-gan"])
def test_autoencoder_and_generator_export(name: str, tmp_path, cli) -> None:
    run = train(name, tmp_path)
    code, out, err = cli("export", run, "--json")
    assert code == 0, err
    meta = json.loads(out)
    assert meta["task"] == ("reconstruction" if name == "digits-vae" else "generation")
    n = 3
    x = (np.random.default_rng(0).normal(size=(n, 4)) if name == "digits-gan"
         else raw_test(run).x.numpy()[:n])
    y = onnx_run(Path(meta["out"]), x)
    assert y.shape == (n, 1, 8, 8)
    assert 2.0 < float(y.mean()) < 12.0  # pixels in the data's own units (0..16), not z-scores


@pytest.mark.parametrize("fmt", ["torchscript", "exported_program"])
def test_torch_formats(fmt: str, tmp_path, cli) -> None:
    run = train("digits-mlp", tmp_path)
    code, out, err = cli("export", run, "--format", fmt, "--json")
    assert code == 0, err
    meta = json.loads(out)
    assert (Path(meta["out"]) / {"torchscript": "model.pt",
                                 "exported_program": "model.pt2"}[fmt]).is_file()
    assert meta["parity"]["passed"] and meta["parity"]["classes_identical"]


def test_failed_parity_and_bad_input_leave_nothing(tmp_path, cli, monkeypatch) -> None:
    run = train("digits-mlp", tmp_path)
    from archopt.export import parity

    monkeypatch.setattr(parity, "TOLERANCE", -1.0)  # nothing can pass
    code, _, err = cli("export", run)
    assert code == 2 and "fails parity" in err and "nothing was written" in err
    assert not (run / "export" / "onnx").exists()
    assert [p.name for p in (run / "export").iterdir()] == []  # no temporary folder either
    code, _, err = cli("export", tmp_path / "nope")
    assert code == 2 and "run directory not found" in err
    code, _, err = cli("export", run, "--format", "torchscript", "--opset", "17")
    assert code == 2 and "--opset" in err
