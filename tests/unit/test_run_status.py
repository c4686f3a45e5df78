"""run.json and the run lock: running while a process holds it, then finished, killed or
failed; a run whose trainer died without a word is killed (resumable) or failed."""

from __future__ import annotations

import json
import os

import pytest

from archopt.errors import UserError
from archopt.run_status import read_run_file, run_status, track
from archopt.train.runlock import RunLock


def make_run(tmp_path, checkpoint=True):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "spec.yaml").write_text("name: x\n")
    if checkpoint:
        (run / "checkpoints" / "last.pt").write_bytes(b"x")
    return run


def stop(run, exc):
    """Raise ``exc`` inside ``track`` (pytest.raises refuses KeyboardInterrupt)."""
    try:
        with track(run, {}):
            raise exc
    except BaseException as caught:
        assert caught is exc
    else:
        raise AssertionError("track swallowed the exception")


def test_running_then_finished(tmp_path):
    run = make_run(tmp_path)
    with RunLock(run).acquire(what="--out"), track(run, {"kind": "run", "params": 7}):
        assert run_status(run)[0] == "running"
        assert read_run_file(run)["params"] == 7
        # a second trainer of the same run is refused
        with pytest.raises(UserError, match="another archopt process is training"):
            RunLock(run).acquire()
    assert run_status(run) == ("finished", "")


def test_a_shared_lock_of_data_parallel_workers_means_running(tmp_path):
    run = make_run(tmp_path)
    (run / "run.json").write_text(json.dumps({"status": "running", "pid": os.getpid()}))
    with RunLock(run).acquire(shared=True, what="--nproc"):
        assert run_status(run)[0] == "running"
    assert run_status(run)[0] == "killed"


@pytest.mark.parametrize("exc,status", [(KeyboardInterrupt(), "killed"),
                                        (UserError("x", "the loss became nan"), "failed"),
                                        (RuntimeError("out of memory"), "failed")])
def test_stopped(tmp_path, exc, status):
    run = make_run(tmp_path)
    stop(run, exc)
    got, detail = run_status(run)
    assert got == status
    if status == "failed":
        assert str(exc.args[-1]) in detail


def test_a_trainer_that_died_leaves_a_killed_or_failed_run(tmp_path):
    run = make_run(tmp_path)
    info = {"status": "running", "pid": 999_999_999, "host": "elsewhere"}
    (run / "run.json").write_text(json.dumps(info))
    (run / ".lock").write_text("")  # nobody holds it
    assert run_status(run)[0] == "killed"
    (run / "checkpoints" / "last.pt").unlink()
    assert run_status(run) == ("failed", "stopped before its first checkpoint")


def test_runs_without_run_json(tmp_path):
    run = make_run(tmp_path)
    assert run_status(run)[0] == "killed"
    (run / "metrics.json").write_text("{}")
    assert run_status(run)[0] == "finished"


def test_resume_keeps_start_and_counts(tmp_path):
    run = make_run(tmp_path)
    stop(run, KeyboardInterrupt())
    first = read_run_file(run)["started"]
    with track(run, {}):
        pass
    info = read_run_file(run)
    assert info["started"] == first and info["resumed"] == 1 and info["status"] == "finished"
