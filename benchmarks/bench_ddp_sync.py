"""What the per-step stop check of ``--nproc`` costs: one all-reduce of one number (gloo, CPU).

    .venv/bin/python benchmarks/bench_ddp_sync.py [--iters 2000]

Two processes on this machine. Times, per call, an all-reduce of one int (``loop.sync_interrupt``
does one per step on CPU, so that all processes stop after the same step) against a full DDP
training step of a small MLP (the wine example of the tests: 13 -> 16 -> 3, batch 15), which
already all-reduces its gradients. Medians of 5 interleaved blocks.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def worker(rank: int, port: int, iters: int, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=2)
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(
        torch.nn.Sequential(torch.nn.Linear(13, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(8, 13), torch.randint(0, 3, (8,))

    def flag() -> None:
        f = torch.tensor([0])
        dist.all_reduce(f, op=dist.ReduceOp.MAX)
        bool(f.item())

    def step() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    times: dict[str, list[float]] = {"flag": [], "step": []}
    for _ in range(5):
        for name, fn in (("flag", flag), ("step", step)):
            dist.barrier()
            start = time.perf_counter()
            for _ in range(iters):
                fn()
            times[name].append((time.perf_counter() - start) / iters)
    if rank == 0:
        out.update({k: statistics.median(v) for k, v in times.items()})
    dist.destroy_process_group()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iters", type=int, default=2000)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(worker, args=(port, args.iters, out), nprocs=2)
    flag, step = out["flag"], out["step"]
    print(f"load average {os.getloadavg()[0]:.1f}; per call, median of 5 blocks of "
          f"{args.iters}: stop check {flag * 1e6:.0f} us, DDP step of the small MLP "
          f"{step * 1e6:.0f} us; the check adds {flag / step:.0%} to such a step")


if __name__ == "__main__":
    main()
