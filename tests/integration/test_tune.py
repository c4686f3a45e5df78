"""Studies end to end through the real CLI: a grid with a diverging trial and a budget that
rejects before training; a study killed with SIGKILL mid-trial and resumed."""

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
import yaml

from archopt.spec import load_spec

optuna.logging.set_verbosity(optuna.logging.WARNING)

BASE = {
    "name": "t",
    "data": {"name": "digits", "batch_size": 64},
    "model": {"name": "mlp", "hidden": [8]},
    "train": {"epochs": 2, "threads": 1},
}


def rows(study_dir: Path) -> list[dict]:
    with open(study_dir / "trials.csv") as f:
        return list(csv.DictReader(f))


def load(study_dir: Path):
    meta = json.loads((study_dir / "study.json").read_text())
    return optuna.load_study(study_name=meta["study"],
                             storage=f"sqlite:///{study_dir / 'study.db'}")


@pytest.mark.slow
def test_grid_study_failed_and_rejected_trials_and_outputs(cli, write_spec, tmp_path):
    spec = {**BASE, "tune": {
        "space": {"train.optimizer": {"choice": [{"name": "adam", "lr": 0.01},
                                                 {"name": "sgd", "lr": 1.0e30}]},
                  "model.hidden": {"choice": [[8], [64, 64]]}},
        "objectives": {"val_accuracy": "max"},
        "constraints": {"params": {"max": 2000}},
        "sampler": {"name": "grid"}}}
    out = tmp_path / "study"
    code, stdout, err = cli("tune", write_spec(spec), "--out", out, "--progress", "lines")
    assert code == 0, err
    by = {(r["train.optimizer"], r["model.hidden"]): r for r in rows(out)}
    assert len(by) == 4  # the grid's size, by default: it ends when the grid is done
    # candidates rejected by a budget do not count as trials; they are reported apart
    assert "2 trials finished (1 complete, 0 pruned, 1 failed), 2 candidates rejected" in stdout
    ok = by[("adam", "[8]")]
    assert ok["state"] == "COMPLETE" and float(ok["val_accuracy"]) > 0.5
    assert by[("sgd", "[8]")]["state"] == "FAIL"
    assert "loss became" in by[("sgd", "[8]")]["reason"]
    for opt in ("adam", "sgd"):  # 8,970 parameters: refused before any training
        r = by[(opt, "[64,64]")]
        assert r["state"] == "REJECTED" and "rejected before training" in r["reason"]
        assert not (out / r["run_dir"] / "spec.yaml").exists()
    # the complete trial is an ordinary run directory; best.yaml trains it again
    run = out / ok["run_dir"]
    assert (run / "metrics.json").is_file() and (run / "checkpoints").is_dir()
    best = load_spec(out / "best.yaml")
    assert best.tune is None and best.train.optimizer.name == "adam"
    assert best.model.params()["hidden"] == [8]
    assert (out / "plots" / "optimization_history.png").stat().st_size > 1000
    # learning curves are recorded for the plots even without a pruner, one step per epoch
    # trained (so a pruner's min_resource counts epochs)
    study = load(out)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert sorted(complete[0].intermediate_values) == [1, 2]
    code, shown, _ = cli("tune", "show", out, "--json")
    s = json.loads(shown)
    assert code == 0 and s["best"]["number"] == int(ok["number"])
    assert s["counts"] == {"complete": 1, "fail": 1, "rejected": 2}


def _running(study_dir: Path) -> list:
    if not (study_dir / "study.db").exists():
        return []
    try:
        return [t for t in load(study_dir).trials if t.state.name == "RUNNING"]
    except Exception:  # the study is being created
        return []


@pytest.mark.slow
def test_sigkill_mid_trial_then_resume_keeps_finished_trials(write_spec, tmp_path, cli):
    # trials long enough (about a second each) that the poll below sees one running on an
    # idle machine too (6 epochs finished between two polls there)
    spec = {**BASE, "train": {"epochs": 40, "threads": 1}, "tune": {
        "space": {"train.optimizer.lr": {"float": [0.001, 0.1], "log": True}},
        "objectives": {"val_accuracy": "max"}, "sampler": {"name": "random"}, "trials": 4}}
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "archopt.cli.main", "tune", str(write_spec(spec)),
           "--out", str(out), "--progress", "lines", "--no-plots"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.time() + 300
    killed_running = []
    try:
        while time.time() < deadline and proc.poll() is None:
            done = [r for r in rows(out) if r["state"] == "COMPLETE"] \
                if (out / "trials.csv").exists() else []
            killed_running = _running(out)
            if done and killed_running:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.2)
    finally:
        proc.kill()
        proc.wait()
    assert killed_running, "the study ended before the kill"
    time.sleep(1)  # the trial worker dies with its parent (PR_SET_PDEATHSIG)
    before = {t.number: (t.values, t.params)
              for t in load(out).trials if t.state.name == "COMPLETE"}
    metrics_before = {n: (out / f"trials/{n:04d}/metrics.json").read_text() for n in before}
    code, _, err = cli("tune", "--resume", out, "--no-plots", "--progress", "lines")
    assert code == 0, err
    trials = load(out).trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4  # exactly the requested number of finished trials
    for n, (values, params) in before.items():  # finished trials intact
        t = trials[n]
        assert t.state.name == "COMPLETE" and t.values == values and t.params == params
        assert (out / f"trials/{n:04d}/metrics.json").read_text() == metrics_before[n]
    # the interrupted trial failed, was queued again with its parameters, and ran once
    dead = trials[killed_running[0].number]
    assert dead.state.name == "FAIL" and "interrupted" in dead.user_attrs["reason"]
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE"
    assert retry[0].params == dead.params
    # no finished trial was sampled again after the resume (optuna#3255)
    lrs = [t.params["train.optimizer.lr"] for t in complete]
    assert len(set(lrs)) == len(lrs)
    assert len(rows(out)) == len(trials)
    assert yaml.safe_load((out / "best.yaml").read_text())["name"] == "t"
