"""Distributed data parallel inside a worker: the process group, the model wrapper, following
the launcher's death, and gathering what every rank has.

``archopt train SPEC --nproc N`` checks the spec, makes the run directory, then launches N
processes through torchrun (``launch.py``), each running ``archopt.train.ddp_worker`` on that
directory. Each rank trains on its shard of every global batch (``Loader`` rank and world_size)
and ``DistributedDataParallel`` averages the gradients (a GAN's generator and discriminator are
wrapped one by one); every per-epoch figure is reduced over all ranks; only rank 0 writes files.
gloo on CPU, NCCL on GPU; torchrun's rendezvous options give multi-node runs.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
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


def init(device: torch.device, world: int) -> None:
    """Join the process group (gloo on CPU, NCCL on GPU)."""
    if world <= 1 or torch.distributed.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
    torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")


class GANPair(nn.Module):
    """A GAN's generator and discriminator, each in its own ``DistributedDataParallel`` (two
    optimizers, two backward passes per step: the usual way to train a GAN under DDP)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module) -> None:
        super().__init__()
        self.generator, self.discriminator = generator, discriminator


def wrap(model: nn.Module, device: torch.device, world: int) -> nn.Module:
    """``DistributedDataParallel(model)`` in a group of several processes, else the model."""
    if world <= 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    match_grad_layout(model)
    ids = [device.index] if device.type == "cuda" else None
    if getattr(model, "task", None) == "generation":
        return GANPair(DistributedDataParallel(model.generator, device_ids=ids),
                       DistributedDataParallel(model.discriminator, device_ids=ids))
    return DistributedDataParallel(model, device_ids=ids)


def all_gather(obj: Any, world: int) -> list[Any]:
    """``obj`` of every rank, in rank order (``[obj]`` alone)."""
    if world <= 1:
        return [obj]
    out: list[Any] = [None] * world
    torch.distributed.all_gather_object(out, obj)
    return out


def gather_to_main(obj: Any, rank: int, world: int) -> list[Any] | None:
    """``obj`` of every rank on rank 0 (None elsewhere)."""
    if world <= 1:
        return [obj]
    out: list[Any] | None = [None] * world if rank == 0 else None
    torch.distributed.gather_object(obj, out, dst=0)
    return out


def follow_parent(expected: int | None) -> None:
    """Stop this worker when its launcher dies, even by SIGKILL.

    On Linux the kernel sends SIGTERM on the parent's death (``prctl(PR_SET_PDEATHSIG)``): the
    worker then stops like on Ctrl-C (all ranks after the same step, a checkpoint saved). If
    the launcher died before this call, the worker stops at once. Elsewhere a thread watches
    the parent's pid once a second.
    """
    if expected is not None and os.getppid() != expected:  # already orphaned
        os._exit(143)
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGTERM), 0, 0, 0) == 0:  # 1: PR_SET_PDEATHSIG
            if expected is not None and os.getppid() != expected:  # died meanwhile
                os._exit(143)
            return
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="archopt-parent-watch", daemon=True).start()


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
