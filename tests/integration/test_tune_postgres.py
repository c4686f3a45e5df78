"""Many machines: three `archopt tune` processes share one study on a real PostgreSQL server.
One is killed with SIGKILL mid-trial; its trial goes stale (no heartbeat), another process
retries it with the same parameters, and the study ends with exactly the requested number of
trials, each counted once, however the processes' last asks interleave (those that ask beyond it
step aside untrained). Then the killed process's study directory is resumed for one more trial.

A process that does not finish in time has its stacks dumped (``kill -USR1``, wired in the
study's process and its workers) into the failure message, to tell a hang from a slow machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pg_server
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)

REASON = pg_server.skip_reason()
TRIALS = 6
SPEC = {"name": "pg", "data": {"name": "digits", "batch_size": 64},
        "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 3, "threads": 1},
        "tune": {"space": {"train.optimizer.lr": {"float": [0.001, 0.1], "log": True}},
                 "objectives": {"val_accuracy": "max"}, "sampler": {"name": "random"},
                 "trials": TRIALS, "heartbeat_s": 2}}


def _tune(*args: str | Path, log: Path) -> subprocess.Popen:
    # stderr to a file, not a pipe: nobody reads a pipe while the processes run, and a full
    # pipe would block its writer
    return subprocess.Popen([sys.executable, "-m", "archopt.cli.main", "tune", *map(str, args),
                             "--progress", "lines", "--no-plots"],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"),  # noqa: SIM115
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait(proc: subprocess.Popen, log: Path, deadline: float) -> None:
    """Wait for ``proc``; past the deadline, dump its stacks and fail with its log."""
    try:
        proc.wait(timeout=max(deadline - time.time(), 1))
    except subprocess.TimeoutExpired:
        for pid in _family(proc.pid):
            os.kill(pid, signal.SIGUSR1)
        time.sleep(2)
        proc.kill()
        proc.wait()
        pytest.fail(f"archopt tune did not finish; its stacks:\n{log.read_text()[-6000:]}")
    assert proc.returncode == 0, log.read_text()[-3000:]


def _family(pid: int) -> list[int]:
    """``pid`` and its child processes (the trial workers)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout.split()
    return [pid, *map(int, out)]


@pytest.mark.slow
@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_three_processes_one_killed_then_resumed(write_spec, tmp_path):
    path = write_spec(SPEC)
    logs = [tmp_path / f"m{i}.log" for i in range(3)]
    with pg_server.server() as url:
        procs = [_tune(path, "--storage", url, "--study", "shared", "--out", tmp_path / f"m{i}",
                       log=logs[i]) for i in range(3)]
        storage = optuna.storages.RDBStorage(url.replace("postgresql:", "postgresql+psycopg:"))
        killed = victim = None
        deadline = time.time() + 600  # a guard against a hang, generous for a loaded machine
        try:
            # kill the first process seen running a trial (between ask and tell). Until a
            # trial's run directory exists the processes are still starting (minutes on a
            # loaded machine): look at the disk, not at the storage, whose every poll costs
            # this process and the server CPU that the starting processes need
            while time.time() < deadline and killed is None:
                time.sleep(0.2)
                if not any(tmp_path.glob("m*/trials/*")):
                    continue
                try:
                    study = optuna.load_study(study_name="shared", storage=storage)
                except KeyError:
                    continue
                for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
                    i = int(t.user_attrs.get("worker", ":m9").rsplit("m", 1)[1])
                    if i < 3 and procs[i].poll() is None:
                        procs[i].send_signal(signal.SIGKILL)
                        killed, victim = t.number, i
                        break
            assert killed is not None, "no process ran a trial"
            procs[victim].wait()
            for i, p in enumerate(procs):
                if i != victim:
                    _wait(p, logs[i], deadline)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
        trials = optuna.load_study(study_name="shared", storage=storage).trials
        # every finished trial counted once: exactly the requested number, none left running.
        # Processes that asked for the last trials at the same moment: all but the first
        # stepped aside untrained (FAIL, surplus), so none ran past the count
        complete = [t for t in trials if t.state.name == "COMPLETE"]
        assert len(complete) == TRIALS, [(t.number, t.state.name) for t in trials]
        assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
        surplus = [t for t in trials if t.user_attrs.get("surplus")]
        assert all(t.state.name == "FAIL" and "run_dir" not in t.user_attrs for t in surplus)
        # the killed trial failed as stale and was retried once, with its own parameters
        dead = trials[killed]
        assert dead.state.name == "FAIL"
        retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
        assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
        assert retries[0].params == dead.params
        # each process wrote its trials' run directories into its own study directory
        for t in complete:
            where = t.user_attrs["worker"].rsplit(":", 1)[1]
            assert (Path(where) / t.user_attrs["run_dir"] / "metrics.json").is_file()
        # the killed process's study directory resumes the shared study: one more trial
        log = tmp_path / "resume.log"
        wanted = TRIALS + 1
        _wait(_tune("--resume", tmp_path / f"m{victim}", "--trials", wanted, log=log),
              log, time.time() + 300)
        after = optuna.load_study(study_name="shared", storage=storage).trials
        storage.engine.dispose()
    new = [t for t in after if t.number not in {u.number for u in trials}]
    assert [t.state.name for t in new] == ["COMPLETE"]
    assert new[0].user_attrs["worker"].endswith(f"m{victim}")
    assert all(a.values == b.values for a, b in zip(after, trials))  # nothing else touched
    assert f"[{wanted}/{wanted}]" in log.read_text()
