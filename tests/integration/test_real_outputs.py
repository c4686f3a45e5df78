"""What a real `archopt tune` study and a real `archopt compress` (prune, then static int8) write,
read back by `archopt report` (pages opened in headless Chromium), `archopt runs` and
`archopt export` (parity of the pruned and the int8 model). The other report tests use fixture
folders in the documented formats; these run the commands themselves, tiny."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from archopt.report import html
from browser import chromium, open_page  # tests/browser.py

pytestmark = pytest.mark.xdist_group("real-outputs")  # one worker builds the fixtures once

BASE = {"name": "tiny-cnn", "seed": 1, "device": "cpu",
        "data": {"name": "digits", "val_split": 0.1, "batch_size": 64},
        "model": {"name": "cnn", "channels": [8, 8], "norm": "batch", "global_pool": True},
        "train": {"epochs": 2, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"], "threads": 1}}
COMPRESS = {"name": "tiny-compress", "compress": {
    "repeats": 2, "batch_size": 16, "sweep": [0.3],
    "steps": [{"name": "prune", "ratio": 0.5, "finetune": {"epochs": 1}},
              {"name": "quantize", "method": "static", "calibration_batches": 2}]}}
STUDY = {"name": "tiny-study", "seed": 1, "device": "cpu",
         "data": {"name": "digits", "batch_size": 64},
         "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 3, "threads": 1},
         "tune": {"space": {"train.optimizer.lr": {"float": [0.0003, 0.1], "log": True}},
                  "objectives": {"val_accuracy": "max"},
                  "sampler": {"name": "random", "seed": 3},
                  "pruner": {"name": "median", "n_startup_trials": 1, "n_warmup_steps": 1},
                  "trials": 4}}
STATUS = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed"}


def run_cli(*args: str) -> tuple[int, str, str]:
    """`archopt ARGS` in this process, its output captured (module fixtures have no capsys)."""
    import contextlib
    import io

    from archopt.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("real-outputs")


@pytest.fixture(scope="module")
def compression(root: Path) -> tuple[Path, str]:
    """A trained tiny CNN pruned by half (one fine-tune epoch), then static int8, `--report`."""
    pytest.importorskip("torch_pruning")
    pytest.importorskip("onnxruntime")
    (root / "base.yaml").write_text(yaml.safe_dump(BASE))
    (root / "compress.yaml").write_text(yaml.safe_dump(COMPRESS))
    code, _, err = run_cli("train", root / "base.yaml", "--out", root / "runs" / "cnn", "-q")
    assert code == 0, err
    code, out, err = run_cli("compress", root / "compress.yaml", "--from", root / "runs" / "cnn",
                             "--out", root / "runs" / "cnn-small", "--report")
    assert code == 0, err
    return root / "runs" / "cnn-small", out


@pytest.fixture(scope="module")
def study(root: Path) -> tuple[Path, str]:
    """Four trials of a learning-rate study with a median pruner, `--report`."""
    (root / "tune.yaml").write_text(yaml.safe_dump(STUDY))
    code, out, err = run_cli("tune", root / "tune.yaml", "--out", root / "runs" / "study",
                             "--progress", "lines", "--report")
    assert code == 0, err
    return root / "runs" / "study", out


@pytest.fixture(scope="module")
def browser():
    with chromium() as context:
        yield context


def check_page(seen, page: Path) -> None:
    assert seen.errors == [], seen.errors
    assert seen.requests == [page.resolve().as_uri()], seen.requests
    assert seen.figures, "no figure on the page"
    for tag, w, h in seen.figures:
        assert w > 50 and h > 50, (tag, w, h)


def trials_csv(study_dir: Path) -> list[dict[str, str]]:
    with open(study_dir / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_tune_report_flag_and_study_page(study, browser, tmp_path):
    study_dir, out = study
    page = study_dir / "report.html"
    assert f"report: {page}" in out
    seen = open_page(browser, page, tmp_path / "study.png")
    check_page(seen, page)
    best = json.loads((study_dir / "best.json").read_text())["best"]
    rows = trials_csv(study_dir)
    text = seen.text
    assert html.number(best["values"]["val_accuracy"]) in text
    assert f"archopt train {study_dir / 'best.yaml'}" in text
    for words in ("Optimization history", "Learning curves", "Parameter importance",
                  "Parallel coordinates", "Trials"):
        assert words in text, words
    states = [r["state"] for r in rows]
    assert len(rows) == 4 and "PRUNED" in states and "COMPLETE" in states, states
    for r in rows:  # every trial's row, with the pruner's reason
        assert r["reason"] in text
    assert f"{states.count('PRUNED')} pruned" in text  # the curves' caption


def test_runs_lists_the_study_and_its_trials(study, cli):
    study_dir, _ = study
    best = json.loads((study_dir / "best.json").read_text())["best"]
    code, out, err = cli("runs", study_dir.parent, "--json", "--filter", "kind=study")
    assert code == 0, err
    [row] = json.loads(out)
    assert row["status"] == "finished" and row["trials"] == 4
    assert row["value"] == best["values"]["val_accuracy"]
    # the trials are run directories; a pruned one is listed as pruned, not finished
    code, out, err = cli("runs", study_dir / "trials", "--json")
    assert code == 0, err
    listed = {Path(r["path"]).name: r["status"] for r in json.loads(out)}
    assert listed == {Path(r["run_dir"]).name: STATUS[r["state"]]
                      for r in trials_csv(study_dir)}


def test_compress_report_flag_and_compression_page(compression, browser, tmp_path):
    root, out = compression
    page = root / "report.html"
    assert f"html report: {page}" in out
    seen = open_page(browser, page, tmp_path / "compression.png")
    check_page(seen, page)
    report = json.loads((root / "report.json").read_text())
    text = seen.text
    assert [s["step"]["name"] for s in report["steps"]] == ["prune", "quantize"]
    for step in report["steps"]:
        for side in ("before", "after"):
            m = step[side]
            assert html.number(m["metric_value"]) in text, (side, m["metric_value"])
            assert f"{m['params']:,}" in text
        assert f"{step['ratios']['params']:.2f}×" in text
    assert "Accuracy and latency" in text and "onnxruntime fp32" in text


def test_runs_lists_the_compression(compression, cli):
    root, _ = compression
    code, out, err = cli("runs", root.parent, "--json", "--filter", "kind=compression")
    assert code == 0, err
    [row] = json.loads(out)
    last = json.loads((root / "report.json").read_text())["steps"][-1]["after"]
    assert row["status"] == "finished" and row["steps"] == 2
    assert row["value"] == last["metric_value"] and row["params"] == last["params"]


@pytest.mark.parametrize("step", ["01-prune", "02-quantize"])
def test_compressed_step_page_loads_its_model(compression, browser, tmp_path, cli, step):
    """The step's page rebuilds the pruned shapes / the int8 ONNX model to profile it."""
    run = compression[0] / step
    code, _, err = cli("report", run)
    assert code == 0, err
    page = run / "report.html"
    seen = open_page(browser, page, tmp_path / f"{step}.png")
    check_page(seen, page)
    text = seen.text
    assert "could not be loaded" not in text
    metrics = json.loads((run / "metrics.json").read_text())
    after = metrics["compress"]["after"]
    for words in ("Compression step", "Profile", "latency, batch 1", html.number(
            metrics["test"]["accuracy"]), f"{after['params']:,}"):
        assert words in text, words
    # (a prune step's table times ONNX Runtime too, so the words are the profile's own)
    assert ("An int8 model run by ONNX Runtime" in text) == (step == "02-quantize")
    assert ("per-layer table (" in text) == (step == "01-prune")


@pytest.mark.parametrize("step", ["01-prune", "02-quantize"])
def test_export_parity_of_compressed_runs(compression, tmp_path, cli, step):
    """The pruned model exports with float parity; the int8 one as QDQ ONNX, exactly the run's
    int8 model; both score on raw inputs what the step's metrics.json says."""
    ort = pytest.importorskip("onnxruntime")
    from archopt.data.load import build_raw
    from archopt.spec import load_spec

    run = compression[0] / step
    code, out, err = cli("export", run, "--out", tmp_path / "onnx", "--json")
    assert code == 0, err
    meta = json.loads(out)
    parity = meta["parity"]
    assert parity["passed"] and parity["classes_identical"]
    assert parity["max_abs_diff"] <= (1e-4 if step == "01-prune" else 1e-6)
    if step == "02-quantize":  # also compared with the float model it was quantized from
        assert meta["exporter"]["quantized"] and "QDQ" in meta["exporter"]["exporter"]
        vs = parity["versus_float"]
        assert vs["examples"] == parity["examples"] and 0 < vs["agreement"] <= 1
        assert vs["accuracy_artifact"] == parity["accuracy_artifact"]
    test = build_raw(load_spec(run / "spec.yaml").data).test
    session = ort.InferenceSession(str(tmp_path / "onnx" / meta["file"]))
    probs = session.run(None, {meta["inputs"]["name"]: test.x.numpy().astype(np.float32)})[0]
    accuracy = float((probs.argmax(1) == test.y.numpy()).mean())
    tested = json.loads((run / "metrics.json").read_text())["test"]["accuracy"]
    assert accuracy == pytest.approx(tested, abs=1e-9)
