"""The launcher's report of a failed data-parallel run: which process, why, the exit status,
and how to go on; and how a worker classifies its own failure."""

from __future__ import annotations

import json
import signal

import pytest
import torch

from archopt.errors import UserError
from archopt.train import launch
from archopt.train.launch import EXIT_BUG, EXIT_INTERRUPTED, EXIT_LOST, EXIT_USER, Failure

CMDS = ("archopt train --resume R --nproc 2", "archopt train R/spec.yaml --nproc 2 --out NEW")


def fail(rank: int, kind: str, t: float, message: str = "", exitcode: int = 3, **payload):
    return Failure(rank, rank, 100 + rank, exitcode, kind, message, t, payload)


def test_a_signal_is_the_root_cause_not_the_lost_peers(tmp_path, capsys):
    found = [fail(0, "lost", 1.0, "Connection reset by peer"),
             fail(1, "signal", 2.0, launch._signal_text(9), exitcode=-9)]
    assert launch.report(found, str(tmp_path), 2, CMDS) == EXIT_LOST
    err = capsys.readouterr().err
    assert "process 1 of 2 (pid 101) was killed by SIGKILL" in err
    assert "no checkpoint was saved yet; start the run again: archopt train R/spec.yaml" in err


def test_a_worker_killed_outright_explains_the_one_torchrun_stopped(tmp_path, capsys):
    """torchrun stops the survivor with SIGTERM and sees both deaths at the same poll."""
    found = [fail(0, "signal", 5.0, launch._signal_text(15), exitcode=-15),
             fail(1, "signal", 5.0, launch._signal_text(9), exitcode=-9)]
    assert launch.report(found, str(tmp_path), 2, CMDS) == EXIT_LOST
    assert "process 1 of 2 (pid 101) was killed by SIGKILL" in capsys.readouterr().err
    alone = [fail(0, "signal", 5.0, launch._signal_text(15), exitcode=-15)]
    launch.report(alone, str(tmp_path), 2, CMDS)
    assert "process 0 of 2 (pid 100) was killed by SIGTERM" in capsys.readouterr().err


def test_own_error_user_error_and_interruption(tmp_path, capsys):
    torch.save({"epoch": 2, "global_step": 30, "step_in_epoch": 4}, tmp_path / "last.pt")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "last.pt").rename(tmp_path / "checkpoints/last.pt")
    bug = [fail(0, "lost", 1.0), fail(1, "internal", 2.0, "ValueError: boom", exitcode=1)]
    assert launch.report(bug, str(tmp_path), 2, CMDS) == EXIT_BUG
    err = capsys.readouterr().err
    assert "process 1 of 2 (pid 101) failed: ValueError: boom" in err
    assert "last checkpoint (epoch 3, step 4, global step 30) with: archopt train --resume" in err
    user = [fail(1, "user", 1.0, where="data.x", what="is wrong", hint="fix it")]
    assert launch.report(user, str(tmp_path), 2, CMDS) == EXIT_USER
    assert capsys.readouterr().err == "error: data.x: is wrong\n  hint: fix it\n"
    stop = [fail(0, "interrupted", 1.0), fail(1, "interrupted", 1.0)]
    assert launch.report(stop, str(tmp_path), 2, CMDS) == EXIT_INTERRUPTED
    oom = [fail(0, "oom", 1.0, "CUDA out of memory"), fail(1, "lost", 0.5)]
    assert launch.report(oom, str(tmp_path), 2, CMDS) == EXIT_LOST
    assert "ran out of memory: CUDA out of memory" in capsys.readouterr().err


def test_worker_classifies_its_failure(tmp_path, monkeypatch):
    from archopt.train.ddp_worker import failed

    path = tmp_path / "error.json"
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(path))

    def kind(exc: BaseException) -> tuple[int, str]:
        code = failed(exc, 1, 2)
        return code, json.loads(path.read_text())["archopt"]["kind"]

    assert kind(UserError("a", "b")) == (EXIT_USER, "user")
    assert kind(KeyboardInterrupt()) == (EXIT_INTERRUPTED, "interrupted")
    assert kind(MemoryError()) == (EXIT_LOST, "oom")
    gloo = RuntimeError("[gloo/transport/tcp/pair.cc:534] Connection closed by peer")
    assert kind(gloo) == (EXIT_LOST, "lost")
    assert kind(ValueError("boom")) == (EXIT_BUG, "internal")
    with pytest.raises(SystemExit):
        failed(SystemExit(0), 0, 2)


def test_signal_names():
    assert "out of memory" not in launch._signal_text(signal.SIGTERM)
    assert "memory" in launch._signal_text(signal.SIGKILL)
