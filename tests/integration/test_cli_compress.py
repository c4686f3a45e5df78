"""archopt compress end to end on tiny runs: every step's run directory reloads with
weights_only, evaluates to the accuracy its report states, profiles at its size; bad input exits
2 with the field named and nothing written; a killed fine-tune resumes to the same result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

pytest.importorskip("torch_pruning")
pytest.importorskip("onnxruntime")

BASE = {"name": "tiny", "seed": 1, "device": "cpu",
        "data": {"name": "digits", "val_split": 0.1, "batch_size": 64},
        "model": {"name": "cnn", "channels": [8, 8], "norm": "batch", "global_pool": True},
        "train": {"epochs": 1, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"], "threads": 1}}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tiny trained CNN run, shared by the tests of this module."""
    import archopt

    out = tmp_path_factory.mktemp("compress") / "run"
    archopt.fit(archopt.load_spec(BASE), out=out, quiet=True)
    return out


def spec_file(tmp_path: Path, steps: list, **extra) -> Path:
    path = tmp_path / "compress.yaml"
    path.write_text(yaml.safe_dump({"name": "tiny", "compress": {
        "repeats": 2, "batch_size": 16, "steps": steps, **extra}}))
    return path


def check_run(cli, run: Path) -> dict:
    """Reload with weights_only, eval = the reported metric, profile = the reported size."""
    state = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    assert "structure" in state or state["model"]
    metrics = json.loads((run / "metrics.json").read_text())
    code, out, err = cli("eval", run, "--json")
    assert code == 0, err
    assert json.loads(out)["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert metrics["compress"]["after"]["metric_value"] == pytest.approx(
        metrics["test"]["accuracy"])
    code, out, err = cli("profile", run, "--json", "--repeats", "1", "--batch-size", "4")
    assert code == 0, err
    prof = json.loads(out)
    assert prof["params"] == metrics["compress"]["after"]["params"]
    assert prof["checkpoint_bytes"] == metrics["compress"]["after"]["size_bytes"]
    return metrics


def test_prune_then_quantize(cli, trained, tmp_path):
    spec = spec_file(tmp_path, [{"name": "prune", "ratio": 0.5, "finetune": {"epochs": 1}},
                                {"name": "quantize", "method": "static",
                                 "calibration_batches": 2}])
    code, out, err = cli("compress", spec, "--from", trained, "--out", tmp_path / "c")
    assert code == 0, err
    assert "latency batch 1" in out
    pruned = check_run(cli, tmp_path / "c" / "01-prune")
    c = pruned["compress"]
    assert c["after"]["params"] < 0.5 * c["before"]["params"]  # channels really removed
    assert c["after"]["macs"] < c["before"]["macs"]
    ort = c["others"]["onnxruntime_fp32_after"]  # the same models, exported, in ONNX Runtime
    assert ort["params"] == c["after"]["params"]
    assert c["ratios"]["onnxruntime_latency_batch_1"] > 0
    assert c["clock"] == "cpu"  # one thread: timed on the thread's CPU time
    assert any("round_to: 16" in n for n in c["notes"])  # 4 channels: off ONNX Runtime's blocks
    assert "in ONNX Runtime, batch 1" in out
    state = torch.load(tmp_path / "c" / "01-prune" / "checkpoints" / "best.pt",
                       weights_only=True)
    assert state["structure"]["kind"] == "pruned"
    quant = check_run(cli, tmp_path / "c" / "02-quantize")
    assert (tmp_path / "c" / "02-quantize" / "model.int8.onnx").is_file()
    assert quant["compress"]["after"]["params"] == c["after"]["params"]
    assert "onnxruntime_fp32" in quant["compress"]["others"]
    report = json.loads((tmp_path / "c" / "report.json").read_text())
    assert [s["step"]["name"] for s in report["steps"]] == ["prune", "quantize"]
    assert (tmp_path / "c" / "report.png").stat().st_size > 1000


def test_unstructured_distill_qat(cli, trained, tmp_path):
    spec = spec_file(tmp_path, [
        {"name": "prune", "method": "unstructured", "ratio": 0.5},
        {"name": "distill", "student": {"name": "mlp", "hidden": [16]}, "epochs": 1,
         "hint": {"weight": 0.5}},
        {"name": "qat", "method": "dynamic", "finetune": {"epochs": 1}}])
    code, out, err = cli("compress", spec, "--from", trained, "--out", tmp_path / "c", "-q")
    assert code == 0, err
    masked = check_run(cli, tmp_path / "c" / "01-prune")["compress"]
    assert masked["after"]["params"] == masked["before"]["params"]  # shapes unchanged
    assert masked["after"]["nonzero_params"] < 0.7 * masked["before"]["nonzero_params"]
    assert any("1.0" in n for n in masked["notes"])
    student = check_run(cli, tmp_path / "c" / "02-distill")
    saved = yaml.safe_load((tmp_path / "c" / "02-distill" / "spec.yaml").read_text())
    assert saved["model"]["name"] == "mlp"
    assert student["compress"]["after"]["params"] != student["compress"]["before"]["params"]
    last = torch.load(tmp_path / "c" / "02-distill" / "checkpoints" / "last.pt",
                      weights_only=True)
    assert any(k.startswith("distill_hint.") for k in last["model"])  # trained with the student
    best = torch.load(tmp_path / "c" / "02-distill" / "checkpoints" / "best.pt",
                      weights_only=True)
    assert not any(k.startswith("distill_hint.") for k in best["model"])  # ... not shipped
    check_run(cli, tmp_path / "c" / "03-qat")


@pytest.mark.parametrize("steps", [
    [{"name": "prune", "ratio": 0.3, "finetune": {"epochs": 2}}],
    [{"name": "distill", "student": {"name": "mlp", "hidden": [16]}, "epochs": 2,
      "hint": {"weight": 0.5}}],
], ids=["prune", "distill-hint"])
def test_killed_finetune_resumes_to_same_result(cli, trained, tmp_path, monkeypatch, steps):
    from archopt.train import loop

    code, _, err = cli("compress", spec_file(tmp_path, steps), "--from", trained,
                       "--out", tmp_path / "whole", "-q")
    assert code == 0, err
    real = loop.check_finite

    def stop_at_step_5(t, loss, force=False):
        if t.global_step == 5:
            t.interrupted = True
        return real(t, loss, force)

    monkeypatch.setattr(loop, "check_finite", stop_at_step_5)
    code, _, err = cli("compress", spec_file(tmp_path, steps), "--from", trained,
                       "--out", tmp_path / "cut", "-q")
    assert code == 130 and "--resume" in err
    monkeypatch.setattr(loop, "check_finite", real)
    code, _, err = cli("compress", tmp_path / "compress.yaml", "--resume", tmp_path / "cut", "-q")
    assert code == 0, err
    step = f"01-{steps[0]['name']}"
    a = torch.load(tmp_path / "whole" / step / "checkpoints" / "best.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / step / "checkpoints" / "best.pt", weights_only=True)
    assert a.get("structure") == b.get("structure")
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k


def bad(cli, args: list, *needles: str) -> str:
    code, out, err = cli("compress", *args)
    assert code == 2, f"exit {code}: {err}"
    assert err.startswith("error: ") and "Traceback" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"
    return err


@pytest.mark.parametrize("steps, needles", [
    ([], ("compress.steps", "empty")),
    ([{"name": "prunee", "ratio": 0.3}], ("compress.steps", "did you mean 'prune'")),
    ([{"name": "prune", "ratio": 1.5}], ("ratio", "less than 1")),
    ([{"name": "prune", "ratio": 0.0}], ("ratio", "greater than 0")),
    ([{"name": "prune", "target": {"params": 1e9}}], ("target.params", "not below")),
    ([{"name": "prune", "ratio": 0.3, "ignore": ["features.9"]}], ("ignore", "features.9")),
    ([{"name": "distill", "student": {"name": "sequential", "layers": [
        {"flatten": {}}, {"linear": {"out_features": 3}}]}}], ("student",)),
    ([{"name": "distill", "student": {"name": "mlp", "hidden": [8]},
       "hint": {"teacher": "featurs"}}], ("hint.teacher", "did you mean 'features'")),
])
def test_bad_steps(cli, trained, tmp_path, steps, needles):
    bad(cli, [spec_file(tmp_path, steps), "--from", trained, "--out", tmp_path / "c"], *needles)
    assert not (tmp_path / "c").exists()


def test_from_is_no_finished_run(cli, tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "spec.yaml").write_text(yaml.safe_dump(BASE))
    spec = spec_file(tmp_path, [{"name": "prune", "ratio": 0.3}])
    bad(cli, [spec, "--from", tmp_path / "half", "--out", tmp_path / "c"], "--from",
        "not a finished run")
    bad(cli, [spec, "--from", tmp_path / "nothing", "--out", tmp_path / "c"], "no run directory")
    assert not (tmp_path / "c").exists()


def test_recurrent_layer_is_named(cli, tmp_path):
    import archopt

    spec = {**BASE, "model": {"name": "rnn", "cell": "gru", "hidden": 8}}
    spec["data"] = {"name": "synthetic", "kind": "sequence", "batch_size": 32}
    archopt.fit(archopt.load_spec(spec), out=tmp_path / "gru", quiet=True)
    bad(cli, [spec_file(tmp_path, [{"name": "prune", "ratio": 0.3}]), "--from",
              tmp_path / "gru", "--out", tmp_path / "c"], "GRU", "recurrent")
    assert not (tmp_path / "c").exists()


def test_quantize_on_a_device_without_int8(cli, trained, tmp_path):
    spec = spec_file(tmp_path, [{"name": "quantize"}])
    bad(cli, [spec, "--from", trained, "--out", tmp_path / "c", "--set", "device=cuda"],
        "device", "int8")
    assert not (tmp_path / "c").exists()
