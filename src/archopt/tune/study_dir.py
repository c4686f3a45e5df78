"""The study directory: what a study writes, and the checks that make ``--resume`` safe.

::

    STUDY_DIR/
      spec.yaml        the resolved spec, tune section included (what --resume re-reads)
      study.json       study name, storage URL (password hidden), objectives, space fingerprint
      study.db         the Optuna storage (SQLite, WAL mode: study.db-wal and study.db-shm may
                       sit beside it) unless tune.storage / --storage names one
      trials/NNNN/     one ordinary run directory per trial (NNNN = Optuna's trial number)
      trials.csv       one row per trial: number, state (Optuna's, or REJECTED for a candidate
                       a budget refused before training), objective values, costs,
                       parameters, epochs, wall and overhead seconds (wall, CPU), when it
                       started and finished (ISO 8601, local time), reason, run_dir
      best.yaml        the best trial's full spec, without the tune section:
                       ``archopt train STUDY_DIR/best.yaml`` trains it again
      best.json        the best trial (or the Pareto front) with values and run directories
      plots/*.png      optimization_history, intermediate_values (learning curves, pruned
                       ones included), param_importances, parallel_coordinate, pareto_front
      .lock            held by the process that runs the study (one process per directory)

A trial's Optuna user attributes carry ``run_dir`` (relative to the study directory), ``costs``
(params, flops, latency_ms when measured), ``epochs``, ``wall_s``, ``overhead_s`` and
``overhead_cpu_s`` (wall and CPU seconds outside training epochs) and ``reason`` (why it failed
or was pruned); a candidate refused by a budget before training is PRUNED in Optuna with
``rejected: true`` and its reason; a trial asked for beyond ``tune.trials`` by processes
sharing a study is FAIL with ``surplus: true``, never run and left out of trials.csv (a missing
number there); in ``archopt search`` a candidate trained before is COMPLETE with ``repeat_of``
and the earlier trial's values and run directory (``archopt.tune.repeats``). Everything is readable
without archopt: the CSV, the YAML, the JSON and the SQLite file (optuna-dashboard opens
``sqlite:///STUDY_DIR/study.db``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from archopt.errors import UserError


def fingerprint(tune: dict[str, Any]) -> str:
    """What must not change on --resume: the space and the objectives."""
    key = json.dumps({"space": tune["space"], "objectives": tune["objectives"]},
                     sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def new_study_dir(name: str, out: str | os.PathLike | None) -> Path:
    """A fresh directory (``studies/NAME/TIME`` by default); never an existing non-empty one."""
    from archopt.runs import new_run_dir

    try:
        return new_run_dir(name, out, root="studies")
    except UserError as err:
        raise UserError(err.where, err.what.replace("runs are", "studies are"),
                        "choose another --out, or continue it with --resume DIR") from None


def check_study_dir(path: str | os.PathLike) -> tuple[Path, dict[str, Any]]:
    """An existing study directory and its study.json, or a UserError."""
    p = Path(path)
    if not p.is_dir():
        raise UserError(str(p), "study directory not found", "pass a folder made by archopt tune")
    meta = p / "study.json"
    if not meta.is_file() or not (p / "spec.yaml").is_file():
        raise UserError(str(p), "not a study directory (no study.json and spec.yaml)",
                        "pass a folder made by `archopt tune`")
    try:
        return p, json.loads(meta.read_text())
    except json.JSONDecodeError:
        raise UserError(str(meta), "is not valid JSON", "the study directory is damaged") from None


class Lock:
    """An exclusive lock on the study directory, held while the study runs."""

    def __init__(self, path: Path) -> None:
        self.path = path / ".lock"
        self.fd: int | None = None

    def __enter__(self) -> Lock:
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise UserError(str(self.path.parent), "another archopt process is running this "
                            "study", "wait for it, or stop it first") from None
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
