"""archopt robustness end to end on a tiny digits run: JSON + PNG written, the Python twin
gives the same numbers, bad input exits 2 with the field named and nothing written, and an int8
run is refused for attacks (no gradient) but measured under noise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

BASE = {"name": "tiny", "seed": 1, "device": "cpu",
        "data": {"name": "digits", "val_split": 0.1, "batch_size": 64},
        "model": {"name": "cnn", "channels": [8, 8], "norm": "batch", "global_pool": True},
        "train": {"epochs": 2, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"], "threads": 1}}
QUICK = ["--attack", "fgsm,pgd", "--noise", "gaussian,blur", "--eps", "0,1.6,3.2",
         "--eps-l2", "0,8", "--steps", "5", "--limit", "120"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import archopt

    out = tmp_path_factory.mktemp("robust") / "run"
    archopt.fit(archopt.load_spec(BASE), out=out, quiet=True)
    return out


def test_robustness_writes_curves_and_matches_its_python_twin(cli, trained, tmp_path):
    import archopt

    code, out, err = cli("robustness", trained, *QUICK, "--out", tmp_path / "r", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["domain"] == {"lo": 0.0, "hi": 16.0, "span": 16.0}  # digits' raw pixels
    assert r["examples"] == 120 and set(r["attacks"]) == {"fgsm", "pgd"}
    assert r["attacks"]["pgd"]["eps"] == [0.0, 1.6, 3.2]
    assert r["attacks"]["pgd"]["accuracy"][0] == r["clean_accuracy"] > 0.5
    assert r["attacks"]["pgd"]["accuracy"][-1] < r["clean_accuracy"]
    assert set(r["noise"]) == {"gaussian", "blur"}
    assert {c["name"] for c in r["checks"]} >= {"eps_monotone", "pgd_beats_fgsm", "large_eps"}
    saved = json.loads((tmp_path / "r" / "robustness.json").read_text())
    assert saved["strongest"] == r["strongest"]
    assert (tmp_path / "r" / "robustness.png").stat().st_size > 5000
    twin = archopt.robustness(trained, noise="gaussian,blur", attack="fgsm,pgd",
                              eps=[0, 0.1, 0.2], relative=True, eps_l2=[0, 0.5], steps=5,
                              limit=120, out=tmp_path / "twin")
    assert twin["strongest"]["accuracy"] == r["strongest"]["accuracy"]
    assert twin["noise"] == r["noise"]
    code, out, err = cli("robustness", trained, *QUICK)  # into RUN_DIR/robustness
    assert code == 0, err
    assert "strongest" in out and "large_eps" in out
    code, _, err = cli("report", trained, "-o", tmp_path / "page.html")
    assert code == 0, err
    page = (tmp_path / "page.html").read_text()
    assert "Robustness" in page and "gradient-masking check" in page and "pgd_beats_fgsm" in page


def bad(cli, tmp_path, *args: str) -> str:
    code, out, err = cli("robustness", *args, "--out", tmp_path / "none")
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert not (tmp_path / "none").exists()  # nothing half-written
    return err


@pytest.mark.parametrize("args,needles", [
    (["--eps", "0,20"], ["--eps", "20", "outside the data's range", "0 to 16"]),
    (["--eps", "0,2", "--relative"], ["--eps", "outside"]),
    (["--attack", "pgdd"], ["--attack", "did you mean 'pgd'"]),
    (["--noise", "jitter"], ["--noise", "jitter does not apply to image"]),
    (["--range", "0:1"], ["--range", "does not hold the data"]),
    (["--steps", "0"], ["--steps", "at least 1"]),
])
def test_bad_input_exits_2(cli, trained, tmp_path, args, needles):
    err = bad(cli, tmp_path, trained, *args)
    for n in needles:
        assert n in err


def test_no_run_dir(cli, tmp_path):
    assert "no run directory" in bad(cli, tmp_path, tmp_path)


@pytest.mark.slow
def test_an_int8_run_is_refused_for_attacks_and_measured_under_noise(cli, trained, tmp_path):
    pytest.importorskip("onnxruntime")
    spec = tmp_path / "compress.yaml"
    spec.write_text(yaml.safe_dump({"name": "tiny", "compress": {
        "repeats": 2, "batch_size": 16,
        "steps": [{"name": "quantize", "method": "static", "calibration_batches": 2}]}}))
    code, _, err = cli("compress", spec, "--from", trained, "--out", tmp_path / "c")
    assert code == 0, err
    run = tmp_path / "c" / "01-quantize"
    err = bad(cli, tmp_path, run, "--attack", "pgd")
    assert "int8 ONNX Runtime model" in err and "no gradient" in err and "--attack none" in err
    code, out, err = cli("robustness", run, "--attack", "none", "--noise", "gaussian",
                         "--limit", "100", "--json", "--out", tmp_path / "n")
    assert code == 0, err
    r = json.loads(out)
    assert r["attacks"] == {} and len(r["noise"]["gaussian"]["accuracy"]) == 6
    assert r["noise"]["gaussian"]["accuracy"][0] == r["clean_accuracy"] > 0.3
