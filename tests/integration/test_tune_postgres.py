"""Many machines: three `archopt tune` processes share one study on a real PostgreSQL server;
one is killed with SIGKILL mid-trial; its trial goes stale (heartbeat), is retried, and the
study ends with every finished trial counted once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import optuna
import pg_server
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)

REASON = pg_server.skip_reason()
TRIALS = 6


@pytest.mark.slow
@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_three_workers_one_killed(write_spec, tmp_path):
    spec = {"name": "pg", "data": {"name": "digits", "batch_size": 64},
            "model": {"name": "mlp", "hidden": [8]}, "train": {"epochs": 4, "threads": 1},
            "tune": {"space": {"train.optimizer.lr": {"float": [0.001, 0.1], "log": True}},
                     "objectives": {"val_accuracy": "max"}, "sampler": {"name": "random"},
                     "trials": TRIALS, "heartbeat_s": 2}}
    path = write_spec(spec)
    with pg_server.server() as url:
        procs = [subprocess.Popen(
            [sys.executable, "-m", "archopt.cli.main", "tune", str(path), "--storage", url,
             "--study", "shared", "--out", str(tmp_path / f"m{i}"), "--progress", "lines",
             "--no-plots"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            for i in range(3)]
        storage = optuna.storages.RDBStorage(url.replace("postgresql:", "postgresql+psycopg:"))
        victim, killed = procs[0], None
        deadline = time.time() + 300
        try:
            while time.time() < deadline and killed is None:
                time.sleep(0.3)
                try:
                    study = optuna.load_study(study_name="shared", storage=storage)
                except KeyError:
                    continue
                for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)):
                    if str(tmp_path / "m0") in t.user_attrs.get("worker", "") and \
                            t.intermediate_values:  # mid-training
                        victim.send_signal(signal.SIGKILL)
                        killed = t.number
                        break
            assert killed is not None, "worker 0 never ran a trial"
            errs = []
            for p in procs[1:]:
                _, err = p.communicate(timeout=max(deadline - time.time(), 10))
                errs.append(err.decode())
                assert p.returncode == 0, err.decode()[-2000:]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
        trials = optuna.load_study(study_name="shared", storage=storage).trials
        storage.engine.dispose()
    dead = trials[killed]
    assert dead.state.name == "FAIL"
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == dead.params
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    # every finished trial counted once: the requested number, no trial left running
    assert len(complete) == TRIALS, [(t.number, t.state.name) for t in trials]
    assert not [t for t in trials if t.state.name in ("RUNNING", "WAITING")]
    assert len({t.number for t in complete}) == TRIALS
    # each machine wrote its trials' run directories into its own study directory
    for t in complete:
        where = t.user_attrs["worker"].rsplit(":", 1)[1]
        assert (tmp_path / where / t.user_attrs["run_dir"] / "metrics.json").is_file()
