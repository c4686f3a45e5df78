"""What `archopt train --nproc 2` guarantees, with real processes (torchrun, gloo on CPU):

- metrics: history.jsonl of 2 processes equals 1 process's (every figure reduced over ranks);
- resume: a run whose launcher is killed mid-epoch leaves no worker behind, saved a checkpoint,
  and resumes to the whole history and weights of an uninterrupted 2-process run;
- failure: one worker killed gets a message naming it, exit status 3 and the resume command,
  which works;
- GAN training runs under --nproc.

The two reference runs are made once per session. Faults are injected at a fixed step through
a ``sitecustomize`` module on PYTHONPATH that only acts in the worker of the chosen rank
(nothing in archopt knows about it).
"""

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux", reason="torchrun + gloo on Linux")]

# no batch norm (ranks normalize their own shards); batch 15: shards of 8 and 7 rows, so a
# mean of per-rank means would differ from the mean over the batch
SPEC = {"name": "ddp", "seed": 1, "device": "cpu",
        "data": {"name": "wine", "batch_size": 15, "val_split": 0.1},
        "model": {"name": "mlp", "hidden": [16]},
        "train": {"epochs": 3, "optimizer": {"name": "momentum", "lr": 0.05},
                  "regularization": {"l2": 1e-3}, "clip_grad_norm": 5.0,
                  "metrics": ["accuracy", "f1_macro", "precision_macro"],
                  "checkpoint_every_steps": 4}}
CMD = [sys.executable, "-m", "archopt.cli.main", "train"]

FAULT = '''
import os, signal, time
if os.environ.get("RANK") == os.environ.get("FAULT_RANK"):
    import archopt.train.loop as loop
    check = loop.check_finite
    def check_finite(t, loss, force=False):
        check(t, loss, force)
        if not force and t.global_step == int(os.environ["FAULT_STEP"]):
            if os.environ["FAULT"] == "launcher":
                parent = os.getppid()
                os.kill(parent, signal.SIGKILL)
                while os.getppid() == parent:  # the kernel has torn the launcher down
                    time.sleep(0.01)           # (and sent the parent-death signal)
            else:
                os.kill(os.getpid(), signal.SIGKILL)
    loop.check_finite = check_finite
'''


def train(*args, env=None, **kw):
    return subprocess.run(CMD + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=600, **kw)


def faulty_env(tmp_path: Path, fault: str, rank: int, step: int) -> dict:
    (tmp_path / "fault").mkdir(exist_ok=True)
    (tmp_path / "fault" / "sitecustomize.py").write_text(FAULT)
    return {**os.environ, "PYTHONPATH": str(tmp_path / "fault"), "FAULT": fault,
            "FAULT_RANK": str(rank), "FAULT_STEP": str(step)}


def history(run: Path) -> list[dict]:
    lines = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    return [{k: v for k, v in x.items() if k != "epoch_time_s"} for x in lines]


def weights(run: Path) -> dict:
    return torch.load(run / "checkpoints/last.pt", weights_only=True)["model"]


def processes_in(run: Path) -> list[str]:
    """Command lines of the live processes that name ``run`` (the workers do)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(run) in cmd and proc.name != str(os.getpid()):
            found.append(f"{proc.name}: {cmd}")
    return found


def wait_gone(run: Path, timeout: float = 90.0) -> list[str]:
    deadline = time.time() + timeout
    while (left := processes_in(run)) and time.time() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """One uninterrupted 2-process run and one 1-process run of SPEC, made once per session
    (pytest-xdist workers share them through a file lock)."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()  # under xdist, its parent is the session's
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "ddp-ref"
    with FileLock(f"{root}.lock"):
        if not (root / "done").is_file():
            root.mkdir(exist_ok=True)
            spec = root / "spec.yaml"
            spec.write_text(yaml.safe_dump(SPEC))
            one = train(spec, "--out", root / "one", "--quiet")
            assert one.returncode == 0, one.stderr
            two = train(spec, "--out", root / "two", "--nproc", "2", "--quiet", "--json")
            assert two.returncode == 0, two.stderr
            assert json.loads(two.stdout)["run_dir"] == str(root / "two")
            (root / "done").write_text("")
    return root


def test_two_processes_log_the_history_of_one(reference):
    h1, h2 = history(reference / "one"), history(reference / "two")
    assert [h["epoch"] for h in h2] == [1, 2, 3]
    for a, b in zip(h1, h2, strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert b[k] == pytest.approx(a[k], rel=1e-5, abs=1e-6), (a["epoch"], k)
    w1, w2 = weights(reference / "one"), weights(reference / "two")
    assert all(torch.allclose(w1[k], w2[k], atol=1e-5) for k in w1)
    m1 = json.loads((reference / "one/metrics.json").read_text())
    m2 = json.loads((reference / "two/metrics.json").read_text())
    assert m2["test"]["confusion_matrix"] == m1["test"]["confusion_matrix"]


def test_killing_the_launcher_stops_the_workers_and_resume_is_exact(reference, tmp_path):
    run = tmp_path / "cut"
    spec = reference / "spec.yaml"
    # rank 1 SIGKILLs the launcher at step 11 (epoch 2 of 9 steps each)
    launcher = subprocess.Popen(CMD + [str(spec), "--out", str(run), "--nproc", "2", "--quiet"],
                                env=faulty_env(tmp_path, "launcher", 1, 11),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert launcher.wait(timeout=600) == -signal.SIGKILL
    assert wait_gone(run) == [], "workers outlived their launcher"
    assert not (run / "metrics.json").exists()
    state = torch.load(run / "checkpoints/last.pt", weights_only=True)
    assert state["global_step"] <= 12 and len(state["ranks"]) == 2
    res = train("--resume", run, "--nproc", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    assert history(run) == history(reference / "two")
    w_ref, w_run = weights(reference / "two"), weights(run)
    assert all(torch.equal(w_ref[k], w_run[k]) for k in w_ref)


def test_a_killed_worker_is_named_and_the_run_resumes(reference, tmp_path):
    run = tmp_path / "lost"
    res = train(reference / "spec.yaml", "--out", run, "--nproc", "2", "--quiet",
                env=faulty_env(tmp_path, "self", 1, 14))
    assert res.returncode == 3, res.stderr
    assert "process 1 of 2" in res.stderr and "SIGKILL" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.splitlines()) <= 4, res.stderr
    # the message ends with the command that resumes the run (last checkpoint: step 12)
    assert "epoch 2, step 3" in res.stderr
    resume = res.stderr.strip().splitlines()[-1].split("with: ")[-1]
    assert resume.startswith(f"archopt train --resume {run} --nproc 2")
    assert wait_gone(run) == []
    again = train(*shlex.split(resume)[2:])
    assert again.returncode == 0, again.stderr
    assert history(run) == history(reference / "two")


def test_gan_trains_on_two_processes(write_spec, tmp_path):
    spec = write_spec({"name": "gan", "seed": 0, "device": "cpu",
                       "data": {"name": "digits", "batch_size": 64},
                       "model": {"name": "gan", "architecture": "conv", "latent": 8,
                                 "channels": [16, 8]},
                       "train": {"epochs": 1, "max_steps": 6,
                                 "optimizer": {"name": "adam", "lr": 2e-4}}})
    res = train(spec, "--out", tmp_path / "g", "--nproc", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    (line,) = history(tmp_path / "g")
    assert line["step"] == 6 and all(
        torch.isfinite(torch.tensor(line[k])) for k in ("train_d_loss", "train_g_loss"))
