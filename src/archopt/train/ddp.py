"""Distributed data parallel: the process group, the model wrapper, and the launcher.

``archopt train SPEC --nproc N`` checks the spec, makes the run directory, then launches N
processes through ``torch.distributed.run`` (torchrun), each running ``archopt.train.ddp_worker``
on that directory. Each rank trains on its shard of every global batch (``Loader`` rank and
world_size) and ``DistributedDataParallel`` averages the gradients; only rank 0 writes files.
gloo on CPU, NCCL on GPU; torchrun's rendezvous options give multi-node runs.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError


def context() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from torchrun's environment; (0, 1, 0) alone."""
    env = os.environ
    return (int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)),
            int(env.get("LOCAL_RANK", 0)))


def check_world(world: int, batch_size: int, n_train: int, task: Any) -> None:
    """UserError when the data cannot give every process an example of every batch."""
    if world <= 1:
        return
    if world > batch_size:
        raise UserError("--nproc", f"{world} processes but data.batch_size is {batch_size}",
                        "every process needs at least one example of each global batch: use "
                        f"--nproc {batch_size} or fewer, or a larger batch")
    if world > n_train:
        raise UserError("--nproc", f"{world} processes but only {n_train} training examples",
                        "use fewer processes")
    if task.multi_optimizer:
        raise UserError("--nproc", "generation (GAN) training runs in one process",
                        "train it without --nproc")


def init(device: torch.device, world: int) -> None:
    """Join the process group (gloo on CPU, NCCL on GPU)."""
    if world <= 1 or torch.distributed.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")


def wrap(model: nn.Module, device: torch.device, world: int) -> nn.Module:
    """``DistributedDataParallel(model)`` in a group of several processes, else the model."""
    if world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    match_grad_layout(model)
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def match_grad_layout(model: nn.Module) -> None:
    """Give every gradient its parameter's exact strides, as DDP's buckets expect.

    Some backward kernels (a conv1d weight with one input channel, ``(C, 1, K)``) return a
    gradient laid out like the parameter except for the stride of a size-1 dimension. The
    memory is the same, but DDP compares strides literally and, on a mismatch, copies the
    gradient into its bucket through a strided path ("Grad strides do not match bucket view
    strides"). A hook on each parameter re-views such a gradient with the parameter's strides
    (no copy) before it is accumulated.
    """
    for p in model.parameters():
        if p.requires_grad:
            p.register_hook(_restride(p))


def _restride(p: torch.Tensor) -> Any:
    def hook(g: torch.Tensor) -> torch.Tensor:
        if g.stride() == p.stride() or g.shape != p.shape:
            return g
        # the same layout up to size-1 dimensions: a view with the parameter's strides
        if all(a == b for a, b, n in zip(g.stride(), p.stride(), g.shape) if n != 1):
            return g.as_strided(g.shape, p.stride())
        return g
    return hook


def finish(world: int) -> None:
    if world > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def launch(run_dir: str, nproc: int, *, resume: bool, quiet: bool, progress: str | None,
           rdzv: dict[str, Any]) -> int:
    """Run ``nproc`` workers on ``run_dir`` through torchrun; returns its exit status."""
    from torch.distributed import run as torchrun

    args = [f"--nproc-per-node={nproc}"]
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
    parsed = torchrun.get_args_parser().parse_args(args)
    env_before = os.environ.get("OMP_NUM_THREADS")
    if env_before is None:  # torchrun would warn and use 1; share the cores instead
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
    try:
        torchrun.run(parsed)
    except Exception as exc:  # ChildFailedError: a worker failed and printed why
        print(f"error: --nproc {nproc}: a training process failed ({type(exc).__name__})",
              file=sys.stderr)
        return 1
    finally:
        if env_before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
    return 0
