"""Where a run stands: ``run.json`` in its directory, and a lock held while it trains.

``run.json`` says what the run is (kind, model, task, parameters) and its last known status:
``running``, ``finished``, ``killed`` (stopped by Ctrl-C/SIGTERM with a checkpoint) or
``failed`` (with the error). A process killed outright (SIGKILL, a crash, a power cut) cannot
update it, so the status also asks whether anyone holds the run's lock, ``.lock`` (taken by
``archopt.train.runlock.RunLock`` while a run trains: exclusively by a one-process run, shared
by a data-parallel launcher and its workers); the kernel releases it when the process dies,
however it dies. A reader that finds ``running`` in run.json but can take the lock knows the
trainer is gone. There is one lock file per run, and ``RunLock`` alone keeps two trainers apart.

Reading the status opens two small files and never a checkpoint, so ``archopt runs`` stays fast
on hundreds of runs.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec.load import write_atomic

try:  # POSIX; elsewhere a dead trainer is only seen through its pid on this host
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

RUN_FILE = "run.json"
LOCK_FILE = ".lock"  # RunLock's file (archopt.train.runlock.LOCK_NAME)
STATUSES = ("running", "finished", "killed", "failed", "pruned")


def now_iso() -> str:
    """The current UTC time, ``2026-11-30T20:31:05Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def read_run_file(run_dir: str | os.PathLike) -> dict[str, Any]:
    """run.json's contents, or {} when absent or unreadable."""
    try:
        data = json.loads((Path(run_dir) / RUN_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(run_dir: Path, info: dict[str, Any]) -> None:
    write_atomic(run_dir / RUN_FILE, json.dumps(info, indent=2) + "\n")


@contextmanager
def track(run_dir: str | os.PathLike, info: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Mark a run as running for the duration of the block, then finished, killed or failed.

    Args:
        run_dir: the run directory.
        info: what the run is (``kind``, ``model``, ``task``, ``params``...); kept in run.json.

    A resumed run keeps its first ``started`` time and counts its resumptions. The block's
    caller writes metrics.json inside the block, so ``finished`` always means it is there.
    The caller holds the run's ``RunLock`` for the whole block (that is what ``running`` is
    checked against).
    """
    path = Path(run_dir)
    old = read_run_file(path)
    record = {**old, **info, "status": "running", "pid": os.getpid(),
              "host": socket.gethostname(), "started": old.get("started") or now_iso(),
              "updated": now_iso()}
    record.pop("error", None)
    record.pop("ended", None)
    if old:
        record["resumed"] = int(old.get("resumed", 0)) + 1
    _write(path, record)
    try:
        yield record
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM: the loop saved last.pt before raising
        _end(path, record, "killed")
        raise
    except BaseException as exc:
        if type(exc).__name__ == "TrialPruned":  # an Optuna pruner stopped a trial
            _end(path, record, "pruned")
        else:
            why = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
            _end(path, record, "failed", why)
        raise
    _end(path, record, "finished")


def _end(path: Path, record: dict[str, Any], status: str, error: str | None = None) -> None:
    record.update(status=status, ended=now_iso(), updated=now_iso())
    if error:
        record["error"] = error[:500]
    _write(path, record)


def lock_held(lock_path: Path) -> bool | None:
    """True when a live process holds an ``flock`` on the file (shared or exclusive); None
    when that cannot be told (no such file, no flock)."""
    if fcntl is None or not lock_path.is_file():
        return None
    try:
        with open(lock_path) as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False
    except OSError:
        return None


def _pid_alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def run_status(run_dir: str | os.PathLike, info: dict[str, Any] | None = None
               ) -> tuple[str, str]:
    """``(status, detail)`` of a run directory, one of STATUSES.

    - ``finished``: training ended and metrics.json was written;
    - ``running``: a live process holds the run's lock;
    - ``killed``: stopped (Ctrl-C, SIGTERM, SIGKILL, a crash) with ``checkpoints/last.pt``
      on disk: ``archopt train --resume DIR`` continues it;
    - ``failed``: an error stopped it (the detail says which), or it died before its first
      checkpoint;
    - ``pruned``: a tuning trial that Optuna's pruner stopped early.

    Runs made before run.json existed are judged from their files alone.
    """
    path = Path(run_dir)
    info = read_run_file(path) if info is None else info
    resumable = (path / "checkpoints" / "last.pt").is_file()
    status = info.get("status")
    if status == "running":
        held = lock_held(path / LOCK_FILE)
        if held is None:  # no flock: trust the pid when the run is on this host
            same_host = info.get("host") == socket.gethostname()
            held = _pid_alive(info.get("pid")) if same_host else True
        if held:
            return "running", f"pid {info.get('pid')} on {info.get('host')}"
        status = "killed"
    if status == "finished" or (status is None and (path / "metrics.json").is_file()):
        return "finished", ""
    if status == "failed":
        return "failed", str(info.get("error", ""))
    if status == "pruned":
        return "pruned", "stopped early by the tuner's pruner"
    if resumable:
        return "killed", f"resume: archopt train --resume {path}"
    return "failed", "stopped before its first checkpoint"
