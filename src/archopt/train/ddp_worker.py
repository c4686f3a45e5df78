"""One DDP process (started by torchrun): ``python -m archopt.train.ddp_worker RUN_DIR``.

Trains the run directory's spec.yaml into that directory; rank 0 writes the files. The worker
stops when its launcher dies (``ddp.follow_parent``) and holds a shared lock on the run
directory while it lives (``runlock``). However it fails, it prints nothing but its own
traceback for an internal error; it writes how it failed to torchrun's error file and exits
with the launcher's statuses (``launch.py``), and the launcher tells the user.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

# words of a collective that failed because another process went away (gloo, NCCL, TCPStore)
_LOST_WORDS = ("connection reset", "connection closed", "closed by peer", "broken pipe",
               "connection refused", "timed out", "timeout", "nccl", "gloo", "socket",
               "tcpstore", "heartbeat")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="archopt.train.ddp_worker")
    p.add_argument("run_dir")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--progress", default=None)
    args = p.parse_args(argv)
    from archopt.train import ddp
    from archopt.train.launch import LAUNCHER_PID

    launcher = os.environ.get(LAUNCHER_PID)
    ddp.follow_parent(int(launcher) if launcher and launcher.isdigit() else None)
    rank, world, _ = ddp.context()
    try:
        return train(args)
    except BaseException as exc:  # noqa: BLE001 (every way out is reported to the launcher)
        return failed(exc, rank, world)


def train(args: argparse.Namespace) -> int:
    from archopt.spec import load_spec
    from archopt.train.fit import fit
    from archopt.train.runlock import RunLock

    with RunLock(args.run_dir).acquire(shared=True, wait_s=30.0, what="--nproc"):
        spec = load_spec(f"{args.run_dir}/spec.yaml")
        fit(spec, resume=args.run_dir if args.resume else None, run_dir=args.run_dir,
            quiet=args.quiet, progress=args.progress or "lines")
    return 0


def failed(exc: BaseException, rank: int, world: int) -> int:
    """Write how this worker failed for the launcher; the worker's exit status."""
    import torch

    from archopt.errors import UserError
    from archopt.train.launch import (
        EXIT_BUG,
        EXIT_INTERRUPTED,
        EXIT_LOST,
        EXIT_USER,
        write_error_file,
    )

    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, UserError):
        write_error_file("user", str(exc), where=exc.where, what=exc.what, hint=exc.hint,
                         world=world)
        return EXIT_USER
    if isinstance(exc, KeyboardInterrupt):  # loop.Interrupted: a checkpoint was saved
        write_error_file("interrupted", str(exc) or "interrupted", world=world)
        return EXIT_INTERRUPTED
    if isinstance(exc, torch.OutOfMemoryError | MemoryError):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        write_error_file("oom", first, world=world)
        return EXIT_LOST
    if lost_contact(exc):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1][:200]
        write_error_file("lost", first, world=world)
        return EXIT_LOST
    traceback.print_exception(exc)
    write_error_file("internal", f"{type(exc).__name__}: {exc}"[:300], world=world)
    return EXIT_BUG


def lost_contact(exc: BaseException) -> bool:
    """A collective or the rendezvous store failed: another process went away."""
    import torch.distributed as dist

    if isinstance(exc, dist.DistError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError | ConnectionError) and any(w in text for w in _LOST_WORDS)


if __name__ == "__main__":
    sys.exit(main())
