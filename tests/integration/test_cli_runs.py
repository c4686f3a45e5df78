"""`archopt runs` and `archopt runs compare` on real runs: finished, running, killed (SIGKILL
and Ctrl-C), failed and resumed; foreign folders are ignored; filters, sorting and JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from archopt.run_index import list_runs
from archopt.run_status import run_status

pytestmark = pytest.mark.xdist_group("cli-runs")  # one worker builds the runs fixture once

SPEC = {"name": "wine-mlp", "seed": 3, "device": "cpu",
        "data": {"name": "wine", "batch_size": 32, "val_split": 0.2},
        "model": {"name": "mlp", "hidden": [8]},
        "train": {"epochs": 2, "optimizer": {"name": "adam", "lr": 0.01}}}


def spec_file(tmp: Path) -> Path:
    spec = tmp / "spec.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    return spec


def train_here(tmp: Path, out: Path, *overrides: str) -> int:
    """`archopt train` in this process (no interpreter start-up: quick on a busy machine)."""
    from archopt.cli.main import main

    return main(["train", str(spec_file(tmp)), "--out", str(out), "--quiet"]
                + [a for o in overrides for a in ("--set", o)])


def train_process(tmp: Path, out: Path, *overrides: str) -> subprocess.Popen:
    """`archopt train` as its own process, to be signalled."""
    cmd = [sys.executable, "-m", "archopt.cli.main", "train", str(spec_file(tmp)), "--out",
           str(out), "--quiet"] + [a for o in overrides for a in ("--set", o)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 600) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """finished, failed, killed (SIGKILL), stopped (SIGINT), plus foreign folders."""
    tmp = tmp_path_factory.mktemp("runs")
    root = tmp / "runs"
    procs = {name: train_process(tmp, root / name, "train.epochs=100000",
                                        "train.checkpoint_every_s=0")
             for name in ("c-killed", "d-interrupted")}
    assert train_here(tmp, root / "a-finished") == 0
    assert train_here(tmp, root / "b-failed", "train.optimizer.name=sgd",
                      "train.optimizer.lr=1e30") == 2
    for name, sig in (("c-killed", signal.SIGKILL), ("d-interrupted", signal.SIGINT)):
        proc = procs[name]
        wait_for(root / name / "checkpoints" / "last.pt", proc)
        if name == "c-killed":  # while it trains, it is listed as running
            assert run_status(root / name)[0] == "running"
        proc.send_signal(sig)
        proc.communicate(timeout=600)
    (root / "notes" / "old").mkdir(parents=True)               # foreign: no spec.yaml
    (root / "notes" / "old" / "readme.txt").write_text("hi")
    (root / "specs").mkdir()                                    # foreign: a spec, no run
    (root / "specs" / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    return root


def test_statuses_and_foreign_folders(runs, cli):
    code, out, err = cli("runs", runs, "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == {"a-finished", "b-failed", "c-killed", "d-interrupted"}
    assert rows["a-finished"]["status"] == "finished"
    assert rows["b-failed"]["status"] == "failed"
    assert "loss became" in rows["b-failed"]["detail"]
    assert rows["c-killed"]["status"] == "killed"
    assert rows["d-interrupted"]["status"] == "killed"
    assert "--resume" in rows["c-killed"]["detail"]
    finished = rows["a-finished"]
    metrics = json.loads((runs / "a-finished" / "metrics.json").read_text())
    assert finished["metric"] == "test_accuracy"
    assert finished["value"] == pytest.approx(metrics["test"]["accuracy"])
    assert finished["params"] == 13 * 8 + 8 + 8 * 3 + 3
    assert finished["epochs"] == 2 and finished["model"] == "mlp"
    assert rows["c-killed"]["epochs"] >= 1      # read from history.jsonl


def test_table_filters_and_sort(runs, cli):
    code, out, _ = cli("runs", runs)
    assert code == 0
    for name in ("a-finished", "b-failed", "c-killed", "d-interrupted"):
        assert name in out
    assert "notes" not in out and "specs" not in out
    assert "1 finished" in out and "2 killed" in out
    code, out, _ = cli("runs", runs, "--filter", "status=killed,failed", "--json")
    assert sorted(r["name"] for r in json.loads(out)) == ["b-failed", "c-killed",
                                                          "d-interrupted"]
    code, out, _ = cli("runs", runs, "--json")
    every = json.loads(out)
    code, out, _ = cli("runs", runs, "--filter", "epochs>=2", "--sort=-name", "--json")
    names = [r["name"] for r in json.loads(out)]
    want = sorted((r["name"] for r in every if r["epochs"] >= 2), reverse=True)
    assert names == want and "a-finished" in names and "b-failed" not in names


def test_resume_a_killed_run_finishes_it(runs, tmp_path, cli):
    code, _, err = cli("train", spec_file(tmp_path), "--out", runs / "c-killed")
    assert code == 2, err  # a killed run is resumed, never overwritten
    code, _, err = cli("train", "--resume", runs / "d-interrupted", "--set", "train.epochs=3",
                       "--quiet")
    assert code == 0, err
    info = json.loads((runs / "d-interrupted" / "run.json").read_text())
    assert info["status"] == "finished" and info["resumed"] == 1
    assert run_status(runs / "d-interrupted")[0] == "finished"


@pytest.mark.parametrize("args,where", [
    (["--filter", "colour=red"], "unknown column"),
    (["--filter", "value>high"], "not a number"),
    (["--filter", "status"], "KEY=VALUE"),
    (["--sort", "speed"], "unknown column"),
])
def test_bad_filters_are_user_errors(runs, cli, args, where):
    code, out, err = cli("runs", runs, *args)
    assert code == 2 and where in err and "Traceback" not in err


def test_bad_folders(tmp_path, cli):
    code, _, err = cli("runs", tmp_path / "nope")
    assert code == 2 and "folder not found" in err
    code, out, _ = cli("runs", tmp_path)
    assert code == 0 and "no runs" in out
    code, _, err = cli("runs", "compare", tmp_path)
    assert code == 2 and "at least two" in err


def test_compare(runs, cli):
    code, out, err = cli("runs", "compare", runs / "a-finished", runs / "b-failed", "--json")
    assert code == 0, err
    result = json.loads(out)
    diffs = dict((k, v) for k, v in result["spec_differences"])
    assert diffs == {"train.optimizer.name": ["adam", "sgd"],
                     "train.optimizer.lr": [0.01, 1e30]}
    metrics = dict((k, v) for k, v in result["metrics"])
    want = json.loads((runs / "a-finished" / "metrics.json").read_text())["test"]["accuracy"]
    assert metrics["test.accuracy"] == [pytest.approx(want), None]
    code, out, _ = cli("runs", "compare", runs / "a-finished", runs / "b-failed")
    assert "train.optimizer.lr" in out and "test.accuracy" in out


def test_list_runs_api_reads_no_checkpoint(runs, monkeypatch):
    import torch

    def boom(*a, **k):
        raise AssertionError("a checkpoint was read")

    monkeypatch.setattr(torch, "load", boom)
    rows = list_runs(runs, ["kind=run"], "-value")
    values = [r["value"] for r in rows if r["value"] is not None]
    assert values == sorted(values, reverse=True) and len(rows) == 4
    by_name = {r["name"]: r for r in rows}
    assert by_name["a-finished"]["status"] == "finished"
    assert os.path.isdir(by_name["a-finished"]["path"])
