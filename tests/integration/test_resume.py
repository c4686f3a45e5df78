"""Exact resume: a run killed with SIGKILL at a random step and resumed ends with the same
weights, metrics and history as one never stopped. Also SIGINT, extending epochs, and the
resume errors (not a run, changed spec, corrupt checkpoint)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

SPEC = {"name": "resume", "seed": 7, "device": "cpu",
        "data": {"name": "digits", "batch_size": 32,
                 "augment": [{"name": "gaussian_noise", "std": 0.05}]},
        "model": {"name": "mlp", "hidden": [64], "dropout": 0.1, "norm": "batch"},
        "train": {"epochs": 12, "optimizer": {"name": "momentum", "lr": 0.05},
                  "scheduler": {"name": "cosine", "warmup_steps": 20},
                  "regularization": {"l2": 1e-4}, "checkpoint_every_steps": 3,
                  "threads": 1}}
CMD = [sys.executable, "-m", "archopt.cli.main", "train"]


def train(*args, **kw):
    return subprocess.run(CMD + [str(a) for a in args], capture_output=True, text=True, **kw)


def history(run: Path) -> list[dict]:
    lines = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    return [{k: v for k, v in x.items() if k != "epoch_time_s"} for x in lines]


def final(run: Path) -> tuple[dict, dict]:
    metrics = json.loads((run / "metrics.json").read_text())
    metrics.pop("train_time_s")
    return metrics, torch.load(run / "checkpoints/last.pt", weights_only=True)["model"]


@pytest.mark.slow
def test_sigkill_at_a_random_step_then_resume_equals_uninterrupted(write_spec, tmp_path):
    spec = write_spec(SPEC)
    full, cut = tmp_path / "full", tmp_path / "cut"
    proc = subprocess.Popen(CMD + [str(spec), "--out", str(cut), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ref = subprocess.Popen(CMD + [str(spec), "--out", str(full), "--quiet"],  # meanwhile
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # kill once a mid-epoch checkpoint exists, after a random extra delay
    deadline = time.time() + 600  # a guard, not a timing: busy CI machines start slowly
    while not (cut / "history.jsonl").is_file() or not (cut / "history.jsonl").read_text():
        assert proc.poll() is None and time.time() < deadline, "the run ended before the kill"
        time.sleep(0.01)
    time.sleep(random.uniform(0.0, 0.3))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (cut / "metrics.json").exists(), "killed too late to test anything"
    state = torch.load(cut / "checkpoints/last.pt", weights_only=True)
    print(f"killed at epoch {state['epoch'] + 1}, step {state['step_in_epoch']}")
    assert ref.wait(timeout=300) == 0, ref.stderr.read()
    res = train("--resume", cut, "--quiet")
    assert res.returncode == 0, res.stderr
    (m_full, w_full), (m_cut, w_cut) = final(full), final(cut)
    assert m_cut == m_full
    assert w_full.keys() == w_cut.keys()
    assert all(torch.equal(w_full[k], w_cut[k]) for k in w_full)
    assert history(cut) == history(full)


def test_sigint_saves_a_checkpoint_and_says_how_to_resume(write_spec, tmp_path):
    # last.pt every epoch (the default is once a minute): the signal lands mid-training
    spec = dict(SPEC, train={**SPEC["train"], "epochs": 200, "checkpoint_every_steps": None,
                             "checkpoint_every_s": 0})
    run = tmp_path / "int"
    proc = subprocess.Popen(CMD + [str(write_spec(spec)), "--out", str(run), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600  # a guard, not a timing: busy CI machines start slowly
    while not (run / "checkpoints/last.pt").is_file():
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"archopt train --resume {run}" in err and "Traceback" not in err
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert state["global_step"] > 0 and not (run / "metrics.json").exists()


def test_resume_can_extend_epochs(cli, write_spec, tmp_path):
    spec = dict(SPEC, train={**SPEC["train"], "epochs": 2, "checkpoint_every_steps": None})
    run = tmp_path / "ext"
    assert cli("train", write_spec(spec), "--out", run, "--quiet")[0] == 0
    code, _, err = cli("train", "--resume", run, "--set", "train.epochs=3", "--quiet")
    assert code == 0, err
    assert [h["epoch"] for h in history(run)] == [1, 2, 3]
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 3


def test_resume_errors(cli, write_spec, tmp_path):
    spec = dict(SPEC, train={**SPEC["train"], "epochs": 1, "checkpoint_every_steps": None})
    run = tmp_path / "run"
    assert cli("train", write_spec(spec), "--out", run, "--quiet")[0] == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    # a folder that is not a run
    (tmp_path / "empty").mkdir()
    code, _, err = cli("train", "--resume", tmp_path / "empty")
    assert code == 2 and "not a run directory" in err
    # a spec change a resume cannot follow
    code, _, err = cli("train", "--resume", run, "--set", "model.hidden=[32]")
    assert code == 2 and "model.hidden changed" in err
    # a truncated checkpoint: named, nothing overwritten
    last = run / "checkpoints/last.pt"
    last.write_bytes(last.read_bytes()[:500])
    before[last] = last.read_bytes()
    code, _, err = cli("train", "--resume", run, "--set", "train.epochs=2")
    assert code == 2 and str(last) in err and "corrupt or truncated" in err
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before
