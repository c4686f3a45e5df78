"""An architecture search shared by two `archopt search` processes on a real PostgreSQL server:
the space's budget rejects a candidate before training, the study ends with exactly the trials
wanted, a repeated architecture takes the values of the trial (of either process) that trained
it, and a study whose storage URL has a password is shown again with `search show --storage`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pg_server
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)

REASON = pg_server.skip_reason()
TRIALS = 4
SPEC = {"name": "pgs", "seed": 0, "data": {"name": "digits", "batch_size": 64},
        "model": {"name": "cnn", "channels": [4], "kernel_sizes": 3},
        "train": {"epochs": 1, "threads": 1},
        "search": {"space": {"model.channels": {"choice": [[4], [8], [16, 16]]}},
                   "objectives": {"val_accuracy": "max", "params": "min"},
                   "constraints": {"params": {"max": 1000}},  # [16, 16]: 2,650 parameters
                   "latency": {"rounds": 1, "repeats": 2, "warmup": 1, "throughput_batch": None,
                               "remeasure_front": False},
                   "sampler": {"name": "random"}, "trials": TRIALS, "heartbeat_s": 2}}


@pytest.mark.slow
@pytest.mark.skipif(REASON is not None, reason=REASON or "")
def test_two_processes_share_an_architecture_search(write_spec, tmp_path, cli):
    path = write_spec(SPEC)
    with pg_server.server() as url:
        secret = url.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
        logs = [tmp_path / f"m{i}.log" for i in range(2)]
        procs = [subprocess.Popen(
            [sys.executable, "-m", "archopt.cli.main", "search", str(path), "--storage", secret,
             "--study", "arch", "--out", str(tmp_path / f"m{i}"), "--progress", "lines",
             "--no-plots"], stdout=subprocess.DEVNULL, stderr=open(logs[i], "w"),  # noqa: SIM115
            env={**os.environ, "PYTHONUNBUFFERED": "1"}) for i in range(2)]
        deadline = time.time() + 600  # a guard against a hang, generous for a loaded machine
        for p, log in zip(procs, logs):
            try:
                p.wait(timeout=max(deadline - time.time(), 1))
            finally:
                if p.poll() is None:
                    p.kill()
            assert p.returncode == 0, log.read_text()[-3000:]
        storage = optuna.storages.RDBStorage(url.replace("postgresql:", "postgresql+psycopg:"))
        trials = optuna.load_study(study_name="arch", storage=storage).trials
        # exactly the trials wanted (rejected and surplus ones apart), none left running
        counted = [t for t in trials if not t.user_attrs.get("rejected")
                   and not t.user_attrs.get("surplus")]
        assert [t.state.name for t in counted] == ["COMPLETE"] * TRIALS, [
            (t.number, t.state.name, t.user_attrs.get("reason")) for t in trials]
        # the budget: [16, 16] measured and rejected, never trained
        for t in trials:
            if t.params["model.channels"] == "[16,16]":
                assert t.user_attrs["rejected"] and "params 2,650 > max 1,000" in \
                    t.user_attrs["reason"]
        # two architectures fit; a repeat of one that had finished (in either process) reused
        # its values (one still running when asked again trains again)
        trained = [t for t in counted if "repeat_of" not in t.user_attrs]
        archs = {t.params["model.channels"] for t in counted}
        assert len(archs) <= 2 and {t.params["model.channels"] for t in trained} == archs
        for t in counted:
            where = Path(t.user_attrs["worker"].rsplit(":", 1)[1])
            assert (where / t.user_attrs["run_dir"] / "metrics.json").is_file()
            if "repeat_of" in t.user_attrs:
                same = trials[t.user_attrs["repeat_of"]]
                assert same.values == t.values and same.params == t.params
        # the password is in no file: show needs --storage (exit 2 without it)
        m0 = tmp_path / "m0"
        assert "s3cret" not in (m0 / "study.json").read_text()
        code, _, err = cli("search", "show", m0)
        assert code == 2 and "pass --storage" in err
        front = json.loads((m0 / "front.json").read_text())["front"]
        assert front and {f["number"] for f in front} <= {t.number for t in trained}
        (m0 / "front.json").unlink()  # read from the storage instead
        code, shown, err = cli("search", "show", m0, "--storage", secret, "--json")
        assert code == 0, err
        s = json.loads(shown)
        assert [f["number"] for f in s["front"]] == [f["number"] for f in front]
        assert s["counts"]["complete"] == TRIALS
        storage.engine.dispose()
