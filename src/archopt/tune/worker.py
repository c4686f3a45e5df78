"""A trial worker: a long-lived process that runs many trials, one at a time.

Started once per worker slot (``spawn``), it imports torch and archopt once, then loops: receive
a trial (its sampled spec and run directory), measure the costs known before training and ask
the study whether the trial fits the budgets, train it with ``archopt.train.fit`` (reporting each
validation epoch to the study for pruning), send back the result or the reason it failed. A
crash, a divergence (a non-finite loss) or an out-of-memory error fails the trial, not the
worker. After each trial the worker compares its resident memory with what it held after its
first trial and exits (to be replaced) when it has grown by more than ``recycle_mb``. It dies
with the study's process (``PR_SET_PDEATHSIG`` on Linux).

Messages, worker -> study: ``("ready", pid)``, ``("costs", n, costs)`` (answer ``("go",)`` or
``("reject", reason)``), ``("report", n, epochs_done, value)`` (answer ``("prune", bool)``),
``("done", n, result)``, ``("failed", n, reason)``, ``("recycle", rss_mb)``.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main(conn: Any, threads: int, recycle_mb: int) -> None:
    """The worker's loop (the target of the spawned process)."""
    _die_with_parent()
    import faulthandler

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID`: where is it?
    os.setpgrp()  # a Ctrl-C on the terminal goes to the study's process, which stops us
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)
    # what every trial needs, imported once per worker rather than once per trial
    import sklearn.metrics  # noqa: F401

    import archopt.data  # noqa: F401
    import archopt.models  # noqa: F401
    import archopt.report.profile  # noqa: F401
    import archopt.train  # noqa: F401  (registries)

    conn.send(("ready", os.getpid()))
    baseline = None
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        try:
            run_trial(conn, job)
        except (BrokenPipeError, EOFError, ConnectionError):  # the study's process is gone
            return
        now = rss_mb()
        baseline = now if baseline is None else baseline
        if now - baseline > recycle_mb:
            conn.send(("recycle", round(now, 1)))
            return


def run_trial(conn: Any, job: dict[str, Any]) -> None:
    """Measure, check the budgets, train; always answers ``done`` or ``failed``."""
    from archopt.errors import UserError

    start = time.perf_counter(), time.process_time()
    n = job["number"]
    try:
        result = _run(conn, job, start)
        if result is not None:
            conn.send(("done", n, result))
    except UserError as err:
        conn.send(("failed", n, str(err)))
    except MemoryError:
        conn.send(("failed", n, "out of memory (MemoryError)"))
    except Exception as exc:  # the trial's bug or the model's: the study goes on
        import torch

        oom = isinstance(exc, torch.OutOfMemoryError)
        what = "out of memory" if oom else type(exc).__name__
        conn.send(("failed", n, f"{what}: {str(exc).splitlines()[0] if str(exc) else ''}"))


def _run(conn: Any, job: dict[str, Any], start: tuple[float, float]) -> dict[str, Any] | None:
    from archopt.spec import load_spec
    from archopt.train import fit
    from archopt.tune.objectives import measure_costs
    from archopt.tune.pruning import Reporter

    n = job["number"]
    spec = load_spec(job["spec"])
    if job.get("measure"):  # archopt search: latency timed its way, cached per architecture
        from archopt.search.costs import measure_costs as measure_search_costs

        costs = measure_search_costs(spec, job["costs"], job["measure"])
    else:
        costs = measure_costs(spec, job["costs"])
    if job["costs"]:
        conn.send(("costs", n, costs))
        answer = conn.recv()
        if answer[0] == "reject":
            return None
    reporter = Reporter(conn, n, job["monitor"])
    metrics = fit(spec, out=job["run_dir"], quiet=True, callbacks=[reporter])
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() - start[1]
    train_s = float(metrics.get("train_time_s") or 0.0)
    # overhead: the trial's time outside training epochs, in wall seconds (what a user waits)
    # and in CPU seconds of this process outside epochs (what a loaded machine does not skew)
    return {"metrics": metrics, "costs": costs, "pruned_at": reporter.pruned_at,
            "wall_s": round(wall, 4), "overhead_s": round(max(wall - train_s, 0.0), 4),
            "overhead_cpu_s": round(max(cpu - reporter.epochs_cpu_s, 0.0), 4)}
