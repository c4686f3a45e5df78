"""Architecture searches end to end: budgets reject before training (counted, not trained),
latency measured once per architecture (cache hits), the front with its table, plot and
best.yaml; a search killed with SIGKILL mid-trial and resumed equals an uninterrupted one."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from archopt.spec import load_spec

BASE = {
    "name": "s",
    "seed": 0,
    "data": {"name": "digits", "batch_size": 64},
    "model": {"name": "cnn", "channels": [4], "kernel_sizes": 3},
    "train": {"epochs": 1, "threads": 1, "metrics": ["accuracy"]},
}
FAST = {"rounds": 2, "repeats": 3, "warmup": 1, "throughput_batch": 16}


def rows(study_dir: Path) -> list[dict]:
    with open(study_dir / "trials.csv") as f:
        return list(csv.DictReader(f))


def load(study_dir: Path):
    meta = json.loads((study_dir / "study.json").read_text())
    return optuna.load_study(study_name=meta["study"],
                             storage=f"sqlite:///{study_dir / 'study.db'}")


@pytest.mark.slow
def test_search_rejects_before_training_caches_latency_and_writes_the_front(
        cli, write_spec, tmp_path):
    spec = {**BASE, "search": {
        "space": {"model.channels": {"choice": [[4], [16, 16]]},   # 90 vs 2,650 parameters
                  "train.optimizer.lr": {"choice": [0.01, 0.02]}},
        "objectives": {"val_accuracy": "max", "latency_ms": "min"},
        "constraints": {"params": {"max": 1000}},
        "latency": FAST, "prescreen": {"candidates": 8, "keep": 2, "batch_size": 16},
        "sampler": {"name": "random"}, "trials": 6}}
    out = tmp_path / "study"
    code, stdout, err = cli("search", write_spec(spec), "--out", out, "--progress", "lines",
                            "--report")
    assert code == 0, err
    assert "Pareto front" in stdout and "the best 2 started the study" in stdout
    # --report: the search's HTML page, written at the end and named
    assert f"report: {out / 'report.html'}" in stdout
    assert "Pareto" in (out / "report.html").read_text()
    table = rows(out)
    assert len(table) >= 6  # 6 finished trials (rejected candidates may come on top)
    big = [r for r in table if float(r["cost_params"]) > 1000]
    small = [r for r in table if float(r["cost_params"]) <= 1000]
    assert big and small
    for r in big:  # refused untrained: no run directory content
        assert r["state"] == "REJECTED" and "rejected before training" in r["reason"]
        assert not (out / r["run_dir"] / "spec.yaml").exists()
    assert all(r["state"] == "COMPLETE" for r in small)
    # 6 complete trials from at most 2 candidates within the budget ([4] x 2 learning rates):
    # each trained once, the others reused its values (a repeat: not trained again, off the front)
    trained = [r for r in small if not r["reason"]]
    again = [r for r in small if r["reason"]]
    distinct = {(r["model.channels"], r["train.optimizer.lr"]) for r in small}
    assert len(distinct) <= 2 and len(again) >= 4
    assert sorted((r["model.channels"], r["train.optimizer.lr"]) for r in trained) == sorted(
        distinct)
    for r in again:
        same = next(t for t in trained if (t["model.channels"], t["train.optimizer.lr"]) ==
                    (r["model.channels"], r["train.optimizer.lr"]))
        assert r["reason"] == f"a repeat of trial {same['number']}: not trained again"
        assert r["val_accuracy"] == same["val_accuracy"] and r["run_dir"] == same["run_dir"]
        assert not (out / f"trials/{int(r['number']):04d}").exists()
    # the pre-screen queued the 2 best-scored candidates that fit the budget: trials 0 and 1
    assert [r["model.channels"] for r in table[:2]] == ["[4]", "[4]"]
    # each architecture timed once: 2 measurements, the other trials read the cache
    costs = [t.user_attrs["costs"] for t in load(out).trials]
    assert len(list((out / "costs").glob("*.json"))) == 2
    assert sum(c["cached"] for c in costs) == len(costs) - 2
    assert all(c["latency_spread"] >= 0 and c["throughput"] > 0 for c in costs)
    front = json.loads((out / "front.json").read_text())
    assert front["front"] and all(f["params"] <= 1000 for f in front["front"])
    assert {f["number"] for f in front["front"]} <= {int(r["number"]) for r in trained}
    assert all(f["latency_ms_again"] > 0 for f in front["front"])
    best = max(front["front"], key=lambda f: f["val_accuracy"])
    assert (out / "plots" / "pareto.png").stat().st_size > 1000
    spec_best = load_spec(out / "best.yaml")
    assert spec_best.search is None and spec_best.model.params()["channels"] == [4]
    assert str(best["number"]) in (out / "best.yaml").read_text().splitlines()[1]
    code, shown, _ = cli("search", "show", out, "--json")
    assert code == 0 and json.loads(shown)["front"] == front["front"]


@pytest.mark.slow
def test_activation_budget_throughput_objective_then_the_front_retrained(cli, write_spec,
                                                                        tmp_path):
    """A budget on peak activation bytes rejects before training; samples/s at the throughput
    batch is an objective (maximized) whose value is the measured cost. Then `search retrain`
    trains the front again (more epochs, two seeds) as ordinary runs, and run again it reads
    the finished runs back instead of training them twice."""
    spec = {**BASE, "search": {
        # peak activation per example: [4] 2,048 bytes, [16, 16] 8,192 bytes
        "space": {"model.channels": {"choice": [[4], [16, 16]]}},
        "objectives": {"val_accuracy": "max", "throughput": "max"},
        "constraints": {"peak_activation_bytes": {"max": 4096}},
        "latency": {**FAST, "remeasure_front": False}, "sampler": {"name": "grid"}}}
    out = tmp_path / "study"
    code, stdout, err = cli("search", write_spec(spec), "--out", out, "--progress", "lines",
                            "--no-plots")
    assert code == 0, err
    table = rows(out)
    for r in table:
        costs = load(out).trials[int(r["number"])].user_attrs["costs"]
        if json.loads(r["model.channels"]) == [16, 16]:
            assert r["state"] == "REJECTED"
            assert "peak_activation_bytes 8,192 > max 4,096" in r["reason"]
            assert not (out / r["run_dir"] / "spec.yaml").exists()
        else:
            assert r["state"] == "COMPLETE" and costs["peak_activation_bytes"] == 2048
            assert float(r["throughput"]) == costs["throughput"] > 0
    assert sorted(r["state"] for r in table) == ["COMPLETE", "REJECTED"]  # the grid, once
    front = json.loads((out / "front.json").read_text())
    assert [f["throughput"] for f in front["front"]] and "throughput" in stdout
    assert load(out).directions[1].name == "MAXIMIZE"
    # the front retrained: 2 epochs (the search trained 1), seeds 0 and 1, ordinary runs
    (member,) = front["front"]
    code, shown, err = cli("search", "retrain", out, "--epochs", "2", "--seeds", "2", "--json")
    assert code == 0, err
    r = json.loads(shown)
    (m,) = r["members"]
    assert m["number"] == member["number"] and [x["seed"] for x in m["runs"]] == [0, 1]
    vals = []
    for x in m["runs"]:
        run = Path(x["run_dir"])
        assert run.parent == out / "retrained" and x["how"] == "trained"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["epochs"] == 2 and load_spec(run / "spec.yaml").seed == x["seed"]
        assert x["val"] == metrics["val"]["accuracy"] and x["test"] == metrics["test"]["accuracy"]
        vals.append(x["val"])
    assert m["val"]["mean"] == pytest.approx(sum(vals) / 2, abs=1e-6)
    assert json.loads((out / "retrained" / "retrained.json").read_text())["members"] == r[
        "members"]
    first = out / "retrained" / f"{member['number']:04d}-seed0" / "metrics.json"
    stamp = first.stat().st_mtime_ns
    code, again, err = cli("search", "retrain", out, "--epochs", "2", "--seeds", "2", "--json")
    assert code == 0, err
    assert [x["how"] for x in json.loads(again)["members"][0]["runs"]] == ["reused"] * 2
    assert first.stat().st_mtime_ns == stamp
    code, _, err = cli("search", "retrain", out, "--members", "7")
    assert code == 2 and "trial 7 is not on the front" in err


@pytest.mark.slow
def test_search_timed_in_onnxruntime_records_ort_latencies(cli, write_spec, tmp_path):
    """runtime onnxruntime: every candidate exported and timed in ONNX Runtime, cached under a
    key of its own (not torch's); the front and a reference re-timed there too, and the table
    says which runtime."""
    pytest.importorskip("onnxruntime")
    from archopt.data import load_data
    from archopt.search.costs import cache_key

    ref = tmp_path / "ref"
    code, _, err = cli("train", write_spec(BASE), "--out", ref, "--progress", "lines")
    assert code == 0, err
    latency = {**FAST, "runtime": "onnxruntime"}
    spec = {**BASE, "search": {"space": {"model.channels": {"choice": [[4], [8]]}},
                               "latency": latency, "sampler": {"name": "grid"}}}
    out = tmp_path / "study"
    code, stdout, err = cli("search", write_spec(spec), "--out", out, "--progress", "lines",
                            "--no-plots", "--reference", f"cnn4={ref}")
    assert code == 0, err
    assert "timed in onnxruntime" in stdout
    options = {**load_spec(out / "spec.yaml").search.latency.model_dump()}
    trials = [t for t in load(out).trials if t.state.name == "COMPLETE"]
    assert len(trials) == 2
    for t in trials:
        s = load_spec(out / t.user_attrs["run_dir"] / "spec.yaml")
        shape = load_data(s.data, s.seed).shape
        ort_key = cache_key(s, shape, options, "cpu")
        torch_key = cache_key(s, shape, {**options, "runtime": "torch"}, "cpu")
        assert ort_key != torch_key
        assert (out / "costs" / f"{ort_key}.json").is_file()
        assert not (out / "costs" / f"{torch_key}.json").exists()
        assert t.user_attrs["costs"]["latency_ms"] > 0
    front = json.loads((out / "front.json").read_text())
    assert front["latency_runtime"]["runtime"] == "onnxruntime"
    assert all(f["latency_ms_again"] > 0 for f in front["front"])
    (r,) = front["references"]
    assert r["name"] == "cnn4" and r["latency_ms"] > 0


def _complete(study_dir: Path) -> list[tuple]:
    return [(t.params, t.values) for t in load(study_dir).trials
            if t.state.name == "COMPLETE"]


@pytest.mark.slow
def test_search_killed_mid_trial_and_resumed_equals_an_uninterrupted_one(write_spec, tmp_path):
    import archopt

    # trials long enough (about a second each) that the poll below sees one running
    spec = {**BASE, "train": {**BASE["train"], "epochs": 20}, "search": {
        "space": {"model.channels": {"list": {"length": [1, 2], "item": {"choice": [4, 8]}}},
                  "model.pool": {"choice": ["max", "none"]}},
        # costs that do not depend on timing, so two runs can be compared exactly
        "objectives": {"val_accuracy": "max", "params": "min"},
        "latency": {**FAST, "remeasure_front": False},
        "sampler": {"name": "evolution", "population_size": 2, "sample_size": 2},
        "trials": 5}}
    path = write_spec(spec)
    whole = tmp_path / "whole"
    archopt.search(path, out=whole, quiet=True, plots=False)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "archopt.cli.main", "search", str(path), "--out", str(out),
           "--progress", "lines", "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline, killed = time.time() + 300, False
    try:
        while time.time() < deadline and proc.poll() is None:
            if (out / "study.db").exists():
                try:
                    states = [t.state.name for t in load(out).trials]
                except Exception:  # the study is being created
                    states = []
                if states.count("COMPLETE") >= 2 and "RUNNING" in states:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    assert killed, "the search ended before the kill"
    time.sleep(1)  # the trial worker dies with its parent
    archopt.search(None, resume=out, quiet=True, plots=False)
    assert any(t.state.name == "FAIL" for t in load(out).trials)
    assert _complete(out) == _complete(whole)
