"""The launcher of ``archopt train --nproc N``: torchrun around N workers, and what to tell the
user when one of them fails.

The launcher holds the run directory's lock (``runlock``) while its workers train, starts them
through ``torch.distributed.run`` (each runs ``archopt.train.ddp_worker``), and reads back how
each one ended: a worker writes a small JSON error file (torchrun's ``TORCHELASTIC_ERROR_FILE``)
saying whether it failed on a user error, its own error, out of memory, or because it lost
contact with another process; a worker that died of a signal writes nothing and torchrun gives
its signal. The launcher names the process at the root of the failure, says why, and how to
resume. Exit statuses (also in the README):

- 0 done; 2 a user error (the worker's message); 130 stopped by a signal, checkpoint saved;
- 3 a process was killed by a signal, ran out of memory or lost contact: resume the run;
- 1 a process failed on an internal error (a bug; its traceback was printed above).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# exit statuses of the launcher, and of a worker (whose error file says more)
EXIT_BUG, EXIT_USER, EXIT_LOST, EXIT_INTERRUPTED = 1, 2, 3, 130
LAUNCHER_PID = "ARCHOPT_LAUNCHER_PID"  # the worker's expected parent (see ddp_worker)
OMP_FROM_LAUNCHER = "ARCHOPT_OMP_FROM_LAUNCHER"  # OMP_NUM_THREADS is ours, not the user's


def launch(run_dir: str, nproc: int, *, resume: bool, quiet: bool, progress: str | None,
           rdzv: dict[str, Any], commands: tuple[str, str]) -> int:
    """Run ``nproc`` workers on ``run_dir`` through torchrun; returns the exit status.

    ``commands``: (resume, restart), the commands that continue this run from its last
    checkpoint and start it again, for the messages.
    """
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    with tempfile.TemporaryDirectory(prefix="archopt-torchrun-") as log_dir:
        args = torchrun_args(run_dir, nproc, resume, quiet, progress, rdzv, log_dir)
        parsed = torchrun.get_args_parser().parse_args(args)
        saved_env = {k: os.environ.get(k)
                     for k in ("OMP_NUM_THREADS", LAUNCHER_PID, OMP_FROM_LAUNCHER)}
        if saved_env["OMP_NUM_THREADS"] is None:  # torchrun would warn and set 1; the
            os.environ["OMP_NUM_THREADS"] = "1"  # workers choose (threads.choose)
            os.environ[OMP_FROM_LAUNCHER] = "1"
        os.environ[LAUNCHER_PID] = str(os.getpid())
        quiet_torchrun = _silence("torch.distributed")
        try:
            torchrun.run(parsed)
        except ChildFailedError as exc:
            return report(failures(exc.failures), run_dir, nproc, commands)
        except SignalException as exc:  # the launcher was stopped: workers saved and exited
            print(f"stopped by {exc.sigval.name}; {next_step(run_dir, commands)}",
                  file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            quiet_torchrun()
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return 0


def torchrun_args(run_dir: str, nproc: int, resume: bool, quiet: bool, progress: str | None,
                  rdzv: dict[str, Any], log_dir: str) -> list[str]:
    """torchrun's command line: processes, rendezvous, where error files go, the worker."""
    args = [f"--nproc-per-node={nproc}", f"--log-dir={log_dir}", "--monitor-interval=0.1"]
    for key in ("nnodes", "node_rank", "master_addr", "master_port", "rdzv_backend",
                "rdzv_endpoint", "rdzv_id"):
        if rdzv.get(key) is not None:
            args.append(f"--{key.replace('_', '-')}={rdzv[key]}")
    if rdzv.get("nnodes") in (None, 1, "1") and rdzv.get("rdzv_endpoint") is None:
        args.append("--standalone" if rdzv.get("master_port") is None else "--nnodes=1")
    args += ["-m", "archopt.train.ddp_worker", str(run_dir)]
    args += ["--resume"] if resume else []
    args += ["--quiet"] if quiet else []
    args += ["--progress", progress] if progress else []
    return args


def _silence(name: str) -> Any:
    """torchrun logs every failure at length; archopt says it once, plainly."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    return lambda: logger.setLevel(level)


@dataclass
class Failure:
    """How one worker ended: ``kind`` is user, internal, oom, lost, interrupted or signal."""

    rank: int
    local_rank: int
    pid: int
    exitcode: int
    kind: str
    message: str
    timestamp: float
    payload: dict


def failures(torchrun_failures: dict[int, Any]) -> list[Failure]:
    """torchrun's ProcessFailure objects, with the archopt error file each worker wrote."""
    out = []
    for rank, f in sorted(torchrun_failures.items()):
        payload = f.error_file_data.get("archopt") if isinstance(f.error_file_data, dict) else None
        if payload:
            kind, message = payload["kind"], payload["message"]
        elif f.exitcode < 0:
            kind, message = "signal", _signal_text(-f.exitcode)
        else:
            kind, message = "internal", f"exited with status {f.exitcode}"
        out.append(Failure(rank, f.local_rank, f.pid, f.exitcode, kind, message,
                           float((payload or {}).get("time", f.timestamp)), payload or {}))
    return out


def _signal_text(signum: int) -> str:
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    if signum == signal.SIGKILL:
        return f"was killed by {name} (by a user, or by the system when memory ran out)"
    return f"was killed by {name}"


def root_cause(found: list[Failure]) -> Failure:
    """The failure that explains the others: a user error, then a worker's own error or out
    of memory, then a signal, then a lost connection; the earliest of its kind. Among signals,
    SIGTERM and SIGINT come last: torchrun sends SIGTERM to stop the surviving workers once one
    has died, and it sees both deaths at the same poll (the same timestamp)."""
    stop = (-signal.SIGTERM, -signal.SIGINT)
    for kinds in (("user",), ("internal", "oom"), ("signal",), ("lost",), ("interrupted",)):
        mine = [f for f in found if f.kind in kinds]
        if mine:
            return min(mine, key=lambda f: (f.exitcode in stop, f.timestamp, f.rank))
    return found[0]


def report(found: list[Failure], run_dir: str, nproc: int, commands: tuple[str, str]) -> int:
    """Print what failed and how to resume; return the launcher's exit status."""
    cause = root_cause(found)
    if cause.kind == "user":
        p = cause.payload
        hint = f"\n  hint: {p['hint']}" if p.get("hint") else ""
        print(f"error: {p['where']}: {p['what']}{hint}" if p.get("where")
              else f"error: {p['what']}{hint}", file=sys.stderr)
        return EXIT_USER
    if cause.kind == "interrupted":
        print(f"interrupted; {next_step(run_dir, commands)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    world = _world(found, nproc)
    who = f"process {cause.rank} of {world} (pid {cause.pid})"
    why = {"internal": f"failed: {cause.message} (its traceback is above)",
           "oom": f"ran out of memory: {cause.message}",
           "lost": f"lost contact with the other processes ({cause.message})",
           "signal": cause.message}[cause.kind]
    others = {1: "", 2: "; the other process stopped"}.get(world, "; the others stopped")
    print(f"error: --nproc {nproc}: {who} {why}{others}\n  {next_step(run_dir, commands)}",
          file=sys.stderr)
    return EXIT_BUG if cause.kind == "internal" else EXIT_LOST


def _world(found: list[Failure], nproc: int) -> int:
    sizes = [f.payload.get("world") for f in found if f.payload.get("world")]
    return int(sizes[0]) if sizes else nproc


def next_step(run_dir: str, commands: tuple[str, str]) -> str:
    """How to go on: resume from the last checkpoint (and where it stands), or start again."""
    resume, restart = commands
    path = Path(run_dir) / "checkpoints" / "last.pt"
    if not path.is_file():
        return f"no checkpoint was saved yet; start the run again: {restart}"
    try:
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        epoch, step = int(state["epoch"]), int(state["global_step"])
        within = int(state.get("step_in_epoch", 0))
    except Exception:  # a damaged file: --resume will say so
        return f"resume with: {resume}"
    where = f"epoch {epoch + 1}, step {within}" if within else f"end of epoch {epoch}"
    return f"resume from the last checkpoint ({where}, global step {step}) with: {resume}"


def write_error_file(kind: str, message: str, **payload: Any) -> None:
    """In a worker: tell the launcher how this process failed (torchrun's error file)."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not path:
        return
    import time

    data = {"message": message, "timestamp": int(time.time()),
            "archopt": {"kind": kind, "message": message, "time": time.time(), **payload}}
    with contextlib.suppress(OSError):
        Path(path).write_text(json.dumps(data))
