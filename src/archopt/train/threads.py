"""How many CPU threads a training process uses, chosen from what is measured.

Intra-op threads help large models and hurt small ones: on a busy 2-core machine two threads
made steps of the example models 5-80x slower than one (benchmarks/RESULTS.md, "Threads").
So unless ``train.threads`` or ``OMP_NUM_THREADS`` says otherwise, a process that has more
than one core times a few forward+backward passes of a copy of the model on the first batch
with one thread and with all its cores (interleaved, median of three; the first pair alone
when it already settles it), and keeps all cores only when they are at least 10% faster. The
probe touches neither the model nor any RNG.

The thread count can change the last bits of a result (reductions split differently), so a
run writes its choice into its spec.yaml (``train.threads``) and every checkpoint: a resumed
run keeps it, and ``archopt train RUN_DIR/spec.yaml`` repeats the run exactly.
"""

from __future__ import annotations

import copy
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

PROBE_ROUNDS = 3
BIG_STEP_S = 0.5     # a one-thread step this long: decide on the first steps alone
MARGIN = 0.9         # more threads must be at least 10% faster to be kept


@dataclass
class Choice:
    threads: int
    reason: str      # what decided it, for the run's output

    def text(self) -> str:
        unit = "thread" if self.threads == 1 else "threads"
        return f"{self.threads} {unit} per process ({self.reason})"


def cores(world_size: int) -> int:
    """The cores this process may use, shared among the processes of this machine."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (n or 1) // world_size)


def choose(threads: int | None, world_size: int, device: torch.device,
           make_step: Callable[[], Callable[[], None]] | None, saved: int | None = None
           ) -> Choice:
    """The thread count: ``train.threads``; the resumed run's; ``OMP_NUM_THREADS``; one core;
    else measured with the step ``make_step()`` returns (one forward+backward)."""
    if threads:
        return Choice(threads, "train.threads")
    if saved:
        return Choice(saved, "as when the run started")
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0 and not os.environ.get("ARCHOPT_OMP_FROM_LAUNCHER"):
        return Choice(int(env), "OMP_NUM_THREADS")
    n = cores(world_size)
    if device.type != "cpu":
        return Choice(n, f"{device.type} run")
    if n == 1:
        return Choice(1, "one core per process")
    if make_step is None:
        return Choice(n, "all cores")
    return measure(make_step, n)


def measure(make_step: Callable[[], Callable[[], None]], n: int) -> Choice:
    """Time a step with 1 and ``n`` threads, interleaved; the faster (n only if clearly).

    A first step with each count warms up (and decides alone when the answer is already
    clear: ``n`` threads over 3x slower, or a step so long that more timing costs too much);
    then ``PROBE_ROUNDS`` interleaved rounds, medians."""
    before = torch.get_num_threads()
    times: dict[int, list[float]] = {1: [], n: []}
    try:
        with torch.random.fork_rng(devices=[]):
            step = make_step()
            for k in (1, n):
                times[k].append(_timed(step, k))
            clear = times[n][0] > 3 * times[1][0] or times[1][0] > BIG_STEP_S
            for _ in range(0 if clear else PROBE_ROUNDS):
                for k in (1, n):
                    times[k].append(_timed(step, k))
    except Exception as exc:  # a probe must never stop a run
        return Choice(n, f"all cores; the probe failed: {type(exc).__name__}")
    finally:
        torch.set_num_threads(before)
    if len(times[1]) > 1:  # drop the warm-up
        times = {k: v[1:] for k, v in times.items()}
    one, many = statistics.median(times[1]), statistics.median(times[n])
    best = n if many < MARGIN * one else 1
    return Choice(best, f"measured on the first batch: 1 thread {one * 1e3:.3g} ms, "
                  f"{n} threads {many * 1e3:.3g} ms per step")


def _timed(step: Callable[[], None], threads: int) -> float:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def probe_step(model: nn.Module, task: Any, loss_fn: nn.Module, batch: Any
               ) -> Callable[[], None]:
    """One forward+backward of a copy of ``model`` on ``batch`` (the model is not touched)."""
    from archopt.train.tasks import forward

    m = copy.deepcopy(model).train()

    def step() -> None:
        if task.multi_optimizer:  # a GAN: generator through discriminator
            z = torch.randn(len(batch.x), m.latent_dim, device=batch.x.device)
            loss = m.discriminator(m.generator(z)).float().mean()
        else:
            out = forward(m, m, batch.x, batch.lengths)
            loss = task.loss(loss_fn, m, out, task.target(batch.x, batch.y))
        loss.backward()
        m.zero_grad(set_to_none=True)

    return step
