"""The worker pool: N long-lived trial processes (``archopt.tune.worker``), each with
``cores // N`` threads so that N workers never oversubscribe the machine; a worker that dies is
noticed (its trial fails with the reason) and replaced, one that asks to be recycled is replaced.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    """Threads for each of ``workers`` processes: the cores shared out (OMP_NUM_THREADS caps)."""
    total = cores()
    env = os.environ.get("OMP_NUM_THREADS")
    if env and env.isdigit() and int(env) > 0:
        total = min(total, int(env) * workers)
    return max(1, total // workers)


@dataclass(eq=False)
class Worker:
    process: Any
    conn: Any
    ready: bool = False
    trial: int | None = None               # the trial number it runs
    trials_run: int = 0
    extra: dict = field(default_factory=dict)


class Pool:
    """Start, watch and replace trial workers."""

    def __init__(self, n: int, threads: int, recycle_mb: int) -> None:
        self.n, self.threads, self.recycle_mb = n, threads, recycle_mb
        self.ctx = mp.get_context("spawn")
        self.workers: list[Worker] = []
        self.recycled = 0
        for _ in range(n):
            self.workers.append(self._start())

    def _start(self) -> Worker:
        from archopt.tune import worker

        parent, child = self.ctx.Pipe()
        old = os.environ.get("OMP_NUM_THREADS")
        os.environ["OMP_NUM_THREADS"] = str(self.threads)  # the spawned child inherits it
        try:
            p = self.ctx.Process(target=worker.main, args=(child, self.threads, self.recycle_mb),
                                 daemon=True, name="archopt-trial-worker")
            p.start()
        finally:
            if old is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = old
        child.close()
        return Worker(p, parent)

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.ready and w.trial is None]

    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.trial is not None]

    def send(self, w: Worker, msg: Any) -> None:
        w.conn.send(msg)

    def events(self, timeout: float) -> list[tuple[Worker, Any]]:
        """Messages from workers, and ``("died", exitcode)`` for a worker that is gone."""
        conns = {w.conn: w for w in self.workers}
        sentinels = {w.process.sentinel: w for w in self.workers}
        out: list[tuple[Worker, Any]] = []
        for obj in wait([*conns, *sentinels], timeout):
            if obj in conns:
                w = conns[obj]
                with contextlib.suppress(EOFError, OSError):
                    out.append((w, w.conn.recv()))
        for obj in wait(list(sentinels), 0):
            w = sentinels[obj]
            while w.conn.poll():  # what it said before dying comes first
                try:
                    out.append((w, w.conn.recv()))
                except (EOFError, OSError):
                    break
            w.process.join()
            out.append((w, ("died", w.process.exitcode)))
        return out

    def replace(self, w: Worker, recycled: bool = False) -> None:
        """Swap a dead or recycled worker for a fresh one."""
        if w.process.is_alive():
            w.process.join(timeout=10)
            if w.process.is_alive():
                w.process.kill()
        w.conn.close()
        self.recycled += recycled
        self.workers[self.workers.index(w)] = self._start()

    def close(self, now: bool = False) -> None:
        """Stop the workers: after their current trial, or ``now`` (their trials re-queued)."""
        if now:
            for w in self.workers:
                w.process.kill()
        for w in self.workers:
            with contextlib.suppress(OSError, BrokenPipeError):
                w.conn.send(None)
        for w in self.workers:
            w.process.join(timeout=5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
