"""The lock a live run holds on its directory, so that a resumed run never races a ghost.

``RUN_DIR/.lock`` is locked with ``flock`` while a run trains there. A one-process run holds it
exclusively. A data-parallel run: the launcher takes it exclusively (nothing else may be
running), then shares it with its workers; each worker holds a shared lock until it exits, so
workers that outlive a killed launcher still hold the directory. The kernel drops a lock when
its process dies, however it dies: there is no stale lock to clean up.

A ``--resume`` waits a short while for processes that are stopping (a worker saving its last
checkpoint after the launcher was killed), then refuses with the holder's pid.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import IO

from archopt.errors import UserError
from archopt.run_status import LOCK_FILE as LOCK_NAME  # one lock file per run


class RunLock:
    """An ``flock`` on ``run_dir/.lock``; released by ``release()`` or when the process ends."""

    def __init__(self, run_dir: str | os.PathLike) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self.file: IO[str] | None = None

    def acquire(self, *, shared: bool = False, wait_s: float = 0.0, what: str = "--resume"
                ) -> RunLock:
        """Take the lock, waiting up to ``wait_s`` seconds; UserError when it stays held."""
        if sys.platform == "win32":  # no flock: no protection, nothing to fail
            return self
        import fcntl

        self.file = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline, told = time.monotonic() + wait_s, False
        while True:
            try:
                fcntl.flock(self.file, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    self.release()
                    raise UserError(f"{what} {self.path.parent}", "another archopt process is "
                                    f"training in this run directory{holder}", "wait for it "
                                    "to finish, or stop it, then run the command again") from None
                if not told and wait_s > 1:
                    print(f"waiting for the processes of a previous run in {self.path.parent} "
                          f"to stop{self.holder()} ...", file=sys.stderr, flush=True)
                    told = True
                time.sleep(0.1)
        if not shared:  # a new holder: the pids of earlier ones are stale
            self.file.seek(0)
            self.file.truncate()
        self.file.write(f"{os.getpid()}\n")  # who holds it, for the message above
        self.file.flush()
        return self

    def share(self) -> None:
        """Turn an exclusive lock into a shared one (the launcher, once its workers start)."""
        if self.file is not None:
            import fcntl

            fcntl.flock(self.file, fcntl.LOCK_SH)

    def holder(self) -> str:
        """`` (pid 123, 456)``: the live processes that took the lock, or ``""``."""
        try:
            pids = [int(p) for p in self.path.read_text().split() if p.isdigit()]
        except OSError:
            return ""
        alive = [str(p) for p in dict.fromkeys(pids) if p != os.getpid() and _alive(p)]
        return f" (pid {', '.join(alive)})" if alive else ""

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing the file drops the flock
            self.file = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
