"""``fit(spec)``: check everything, make the run directory, train, evaluate, write metrics.json.
Re-evaluating a saved run later is ``archopt.train.evaluate``.

What metrics.json holds, and which weights its figures come from, is ``archopt.train.results``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archopt.errors import UserError, warn
from archopt.registry import CALLBACKS
from archopt.report.memory import check_memory
from archopt.run_status import track
from archopt.spec import load_spec, save_spec
from archopt.spec.load import write_atomic
from archopt.spec.resolve import check_plugins
from archopt.spec.schema import Spec
from archopt.train import ddp, loop, results, setup, threads
from archopt.train.callbacks import tensorboard
from archopt.train.checkpoint import checkpoint_path, load_checkpoint  # noqa: F401 (API)
from archopt.train.runlock import RunLock
from archopt.train.trainer import Trainer


def fit(spec: Spec, *, out: str | Path | None = None, resume: str | Path | None = None,
        quiet: bool = False, progress: str | None = None, run_dir: str | Path | None = None,
        callbacks: list | None = None) -> dict[str, Any]:
    """Train the model a spec describes; returns metrics.json's contents plus ``run_dir``.

    Args:
        spec: the validated experiment spec.
        out: the run directory to create (default ``runs/<name>/<time>``).
        resume: a run directory to continue from its ``checkpoints/last.pt``.
        quiet: no progress output.
        progress: ``auto`` (a bar on a terminal, lines otherwise), ``bar`` or ``lines``.
        run_dir: an existing, empty run directory made by the launcher (DDP workers).
        callbacks: extra ``Callback`` objects (an Optuna pruning callback, ...); they run
            before checkpointing, so their state is saved with the run.

    Raises:
        UserError: for anything wrong with the spec, the data, the model or the run directory,
            before anything is written.
    """
    rank, world, local_rank = ddp.context()
    # 1) check everything before a file is written
    p = prepare(spec, rank, world, local_rank)
    # a one-process run locks its directory (a launcher and its workers lock theirs)
    lock = RunLock(resume).acquire(wait_s=30.0) if world == 1 and resume is not None else None
    try:
        state = check_resume(Path(resume), spec) if resume is not None else None
        # 2) the run directory (nothing was written before this line)
        run_path = prepare_run_dir(spec, p.data, out, resume and Path(resume), run_dir, rank)
        if world == 1 and lock is None and run_dir is None:
            lock = RunLock(run_path).acquire(what="--out")
        # run.json says running (then finished, killed or failed) while rank 0 holds its lock
        with track(run_path, run_info(spec, p)) if rank == 0 else nullcontext():
            return _train(spec, p, state, run_path, quiet, progress, callbacks, rank, world,
                          resume)
    finally:
        if lock is not None:
            lock.release()


def _train(spec: Spec, p: Prepared, state: dict | None, run_path: Path, quiet: bool,
           progress: str | None, callbacks: list | None, rank: int, world: int,
           resume: Any = None) -> dict[str, Any]:
    """Steps 3-5 of ``fit``: the trainer, training, the final metrics."""
    # 3) the trainer and its callbacks, and the CPU threads (measured unless set)
    ddp.init(p.device, world)
    trainer = build_trainer(spec, p, run_path if rank == 0 else None, quiet, progress,
                            rank, world)
    trainer.callbacks[-1:-1] = list(callbacks or [])  # before the checkpoint callback
    trainer.run_dir = run_path
    if p.transfer is not None and rank == 0 and state is None:
        p.transfer.record(run_path, quiet)  # init.json and what was loaded
    if state is not None:
        trainer.load_state_dict(state)
        if finished(trainer) and rank == 0:
            warn(f"--resume {resume}", f"the run is already complete ({trainer.epoch} "
                 f"epochs, {trainer.global_step} steps); nothing more to train, the final "
                 "metrics are evaluated again", "to train longer: --set train.epochs=N (or "
                 "train.max_steps)")
    choice = pick_threads(spec, p, world, state and trainer.own_rank_state(state))
    trainer.threads = choice.threads
    if rank == 0 and spec.train.threads is None:  # spec.yaml repeats the run exactly
        resolved = spec.model_copy(deep=True)
        resolved.train.threads = choice.threads
        save_spec(resolved, run_path / "spec.yaml")
    if rank == 0 and not quiet:
        print(f"threads: {choice.text()}", file=sys.stderr, flush=True)
    # 4) train; SIGINT/SIGTERM stop after the current step with a checkpoint
    with stop_on_signals(trainer):
        loop.run(trainer)
    # 5) the headline (best checkpoint) and the last epoch's figures
    metrics = final_metrics(trainer, p.parts, p.data, spec)
    if rank == 0:
        write_atomic(run_path / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    ddp.finish(world)
    return {**metrics, "run_dir": str(run_path)}


def pick_threads(spec: Spec, p: Prepared, world: int, saved: dict | None) -> threads.Choice:
    """Set this process's CPU threads (``threads.choose``) and say why."""
    def make_step() -> Any:  # only a probe needs the first batch and a copy of the model
        return threads.probe_step(p.model, p.parts.task, p.parts.loss_fn, next(iter(p.loader)))

    choice = threads.choose(spec.train.threads, world, p.device, make_step,
                            saved=(saved or {}).get("threads"))
    torch.set_num_threads(choice.threads)
    return choice


RANK_SEED = 1_000_003  # rank r seeds its RNGs with seed + r * RANK_SEED


@dataclass
class Prepared:
    """Everything built and checked before the run directory is made."""

    device: torch.device
    data: Any
    model: torch.nn.Module
    parts: setup.Parts
    loader: Any
    val_loader: Any
    steps_per_epoch: int
    epochs: int
    total_steps: int
    monitor: str | None          # what decides best.pt (None: no best.pt, headline is last)
    augment: Any
    channels_last: bool
    optimizers: dict
    schedulers: dict
    transfer: Any = None         # archopt.transfer.setup.Transfer: init report, freezing
    adversarial: Any = None      # train.adversarial's attack (archopt.robust.training)


def prepare(spec: Spec, rank: int = 0, world: int = 1, local_rank: int = 0) -> Prepared:
    """Load the data, build the model, task, loss, metrics, optimizers and schedules, and check
    them against each other; a UserError for anything wrong. Writes nothing."""
    check_plugins(spec)
    t = spec.train
    device = setup.resolve_device(spec.device, local_rank)
    setup.set_threads(t.threads, world)
    from archopt.data import Loader, load_data
    from archopt.models import build_model

    data = load_data(spec.data, spec.seed)
    if spec.data.pseudo_labels is not None:  # self-training: a run labels the other examples
        from archopt.transfer.pseudo import apply_pseudo_labels

        data = apply_pseudo_labels(data, spec)
    shape = data.shape
    # memory: weights, gradients and optimizer state before a byte is allocated, then with the
    # activations of a batch measured on the built model
    check_memory(spec, shape, device, processes_here(world))
    model = build_model(spec.model, shape, seed=spec.seed)
    check_memory(spec, shape, device, processes_here(world), model=model)
    from archopt.transfer.contrastive import attach_projection
    from archopt.transfer.setup import prepare_transfer

    transfer = prepare_transfer(spec, model, world)  # model.init's weights, freezing
    attach_projection(model, spec, shape)  # train.task contrastive: SimCLR's projection
    parts = setup.build_parts(spec, model, shape)
    ddp.check_world(world, spec.data.batch_size, len(data.train), parts.task)
    loader = Loader(data.train, spec.data.batch_size, shuffle=spec.data.shuffle, seed=spec.seed,
                    rank=rank, world_size=world, device=device)
    steps_per_epoch = len(loader)
    if steps_per_epoch == 0:
        raise UserError("data.batch_size", "leaves no training batch", "use a smaller batch")
    if spec.data.batch_size > len(data.train) and rank == 0:
        warn("data.batch_size", f"is {spec.data.batch_size} but the training split has only "
             f"{len(data.train)} examples: every step trains on the whole split",
             f"a batch size of {len(data.train)} or less says the same")
    epochs, total_steps = setup.resolve_length(t.epochs, t.max_steps, steps_per_epoch)
    val_loader = (Loader(data.val, spec.data.batch_size, shuffle=False, seed=spec.seed,
                         device=device) if data.val is not None and len(data.val) else None)
    keys = setup.history_keys(parts.metrics, val_loader is not None, parts.task)
    # the best checkpoint is chosen on validation data; without it (or for a GAN, whose losses
    # do not rank its generators) the headline is the last epoch, as Lightning does
    monitor = ("val_loss" if val_loader is not None and parts.task.name != "generation"
               else None)
    if robust_selection(spec, val_loader):  # robust models: by validation PGD accuracy
        keys.append("val_pgd_accuracy")
        monitor = "val_pgd_accuracy"
    if t.early_stopping is not None:
        setup.check_monitor(t.early_stopping.monitor, keys, "train.early_stopping.monitor")
        monitor = t.early_stopping.monitor
    if t.scheduler is not None and t.scheduler.name == "plateau":
        mon = t.scheduler.params().get("monitor", "val_loss")
        if val_loader is None and mon.startswith("val_"):
            mon = mon.replace("val_", "train_", 1)  # the loop falls back the same way
        setup.check_monitor(mon, keys, "train.scheduler.monitor")
    if not t.compile:  # nothing is compiled: the optimizer need not import torch's compiler
        from archopt.train.eager import no_compiler_imports

        no_compiler_imports()
    augment = None
    if spec.data.augment:
        from archopt.data import build_augment

        augment = build_augment(spec.data.augment, shape)  # the shape: classes for mixup
    adversarial = None
    if t.adversarial is not None:
        from archopt.robust import training as robust_training

        adversarial = robust_training.build(t.adversarial, data)
    model.to(device)
    channels_last = device.type == "cuda" and setup.has_conv2d(model)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizers, schedulers = setup.build_optimizers(spec, model, parts.task, steps_per_epoch,
                                                    total_steps)
    return Prepared(device, data, model, parts, loader, val_loader, steps_per_epoch, epochs,
                    total_steps, monitor, augment, channels_last, optimizers, schedulers,
                    transfer, adversarial=adversarial)


def finished(t: Trainer) -> bool:
    """Whether a (resumed) trainer has nothing left to train."""
    stopped = any(getattr(cb, "stopped_epoch", 0) for cb in t.callbacks)
    return t.epoch >= t.epochs or t.global_step >= t.total_steps or stopped


def robust_selection(spec: Spec, val_loader: Any) -> bool:
    """Whether validation logs ``val_pgd_accuracy`` and best.pt is chosen by it
    (``train.adversarial.select: robust``, with a validation split)."""
    adv = spec.train.adversarial
    return adv is not None and adv.select == "robust" and val_loader is not None


def processes_here(world: int) -> int:
    """Training processes sharing this machine's memory (torchrun says how many per node)."""
    local = os.environ.get("LOCAL_WORLD_SIZE", "")
    return int(local) if local.isdigit() else world


def build_trainer(spec: Spec, p: Prepared, run_dir: Path | None, quiet: bool = True,
                  progress: str | None = None, rank: int = 0, world: int = 1) -> Trainer:
    """The Trainer of a prepared spec; ``run_dir`` None writes no files (benchmarks, tests)."""
    t, model = spec.train, p.model
    net = ddp.wrap(model, p.device, world)
    if t.compile:
        net = torch.compile(net)
    dtype = setup.amp_dtype(p.device, t.amp)
    scaler = torch.amp.GradScaler(p.device.type, enabled=dtype == torch.float16)
    callbacks = make_callbacks(spec, run_dir, p.monitor, quiet, progress, p.parts.task,
                               p.data.shape)
    if p.transfer is not None:
        callbacks[:0] = p.transfer.callbacks()  # freezing, before anything sees the epoch
    adv = t.adversarial
    if p.adversarial is not None and adv.method == "fgsm_rs" and adv.guard:
        from archopt.robust.training import guard

        watch_val = robust_selection(spec, p.val_loader)  # val_pgd_accuracy is measured anyway
        callbacks.insert(0, guard(p.adversarial, p.data, watch_val=watch_val))  # before history
    if robust_selection(spec, p.val_loader):
        from archopt.robust.training import robust_validation

        callbacks.insert(0, robust_validation(p.adversarial, p.data))
    seed_everything(spec.seed + RANK_SEED * rank)  # dropout and noise differ between shards
    return Trainer(
        task=p.parts.task, model=model, net=net, loss_fn=p.parts.loss_fn.to(p.device),
        optimizers=p.optimizers, schedulers=p.schedulers, scaler=scaler,
        train_loader=p.loader, val_loader=p.val_loader, callbacks=callbacks, device=p.device,
        metrics=p.parts.metrics, epochs=p.epochs, total_steps=p.total_steps,
        steps_per_epoch=p.steps_per_epoch, n_train=len(p.data.train),
        batch_size=spec.data.batch_size, augment=p.augment, adversarial=p.adversarial,
        aug_gen=torch.Generator().manual_seed(spec.seed + 1 + RANK_SEED * rank),
        autocast_dtype=dtype,
        channels_last=p.channels_last, clip_grad_norm=t.clip_grad_norm,
        l1=t.regularization.l1, l2=t.regularization.l2,
        penalized=setup.penalized_weights(model), eval_every=t.eval_every, run_dir=run_dir,
        rank=rank, world_size=world, spec_hash=setup.spec_hash(spec),
        plan=setup.length_note(t.epochs, t.max_steps, p.steps_per_epoch))


def run_info(spec: Spec, p: Prepared) -> dict[str, Any]:
    """What run.json records about a run, so that `archopt runs` needs no checkpoint."""
    return {"kind": "run", "name": spec.name, "model": spec.model.name, "task": p.parts.task.name,
            "params": sum(q.numel() for q in p.model.parameters()), "monitor": p.monitor,
            "device": str(p.device)}


def check_resume(run_dir: Path, spec: Spec) -> dict[str, Any]:
    """The checkpoint to resume from, after checking the run and that the spec still fits."""
    from archopt.runs import check_run_dir

    check_run_dir(run_dir)
    # no other trainer is in run_dir: the caller holds its RunLock (fit, the launcher)
    saved = load_spec(run_dir / "spec.yaml", validate_plugins=False)
    setup.check_resumable(saved, spec, str(run_dir))
    path = run_dir / "checkpoints" / "last.pt"
    state = load_checkpoint(path)
    if state.get("spec_hash") != setup.spec_hash(spec):
        raise UserError(str(path), "was written by a different spec than the run's spec.yaml",
                        "start a new run")
    return state


def prepare_run_dir(spec: Spec, data: Any, out: Any, resume: Path | None, run_dir: Any,
                    rank: int) -> Path:
    """The run directory with spec.yaml, data_shape.json and normalization.json."""
    from archopt.runs import new_run_dir

    if resume is not None:
        path = resume
    elif run_dir is not None:
        path = Path(run_dir)
    else:
        path = new_run_dir(spec.name, out) if rank == 0 else Path(".")
    if rank == 0:
        save_spec(spec, path / "spec.yaml")
        write_atomic(path / "data_shape.json", json.dumps(data.shape.to_dict(), indent=2) + "\n")
        write_atomic(path / "normalization.json",
                     json.dumps(data.normalization or {}, indent=2) + "\n")
        (path / "checkpoints").mkdir(exist_ok=True)
    return path


def make_callbacks(spec: Spec, run_dir: Path | None, monitor: str, quiet: bool,
                   progress: str | None, task: Any, shape: Any) -> list:
    """History, early stopping, samples, TensorBoard, progress, then checkpointing (last, so
    that it saves the others' state of the same epoch)."""
    ctx = {"run_dir": run_dir}
    cbs = [CALLBACKS.build({"name": "history"}, "callbacks", **ctx)]
    if spec.train.early_stopping is not None:
        cbs.append(CALLBACKS.build({"name": "early_stopping",
                                    **spec.train.early_stopping.model_dump()}, "train"))
    if run_dir is not None and task.name == "generation":
        cbs.append(CALLBACKS.build({"name": "gan_samples"}, "callbacks", **ctx,
                                   seed=spec.seed, shape=shape))
    if run_dir is not None and tensorboard.available():
        cbs.append(CALLBACKS.build({"name": "tensorboard"}, "callbacks", **ctx))
    if not quiet and run_dir is not None:
        cbs.append(CALLBACKS.build({"name": "progress"}, "callbacks", mode=progress or "auto"))
    mode = spec.train.early_stopping.mode if spec.train.early_stopping else "auto"
    cbs.append(CALLBACKS.build({"name": "checkpoint", "monitor": monitor, "mode": mode,
                                "every_steps": spec.train.checkpoint_every_steps,
                                "every_s": spec.train.checkpoint_every_s}, "callbacks"))
    return cbs


def seed_everything(seed: int) -> None:
    """The global RNGs that dropout and user code read (data order has its own)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextmanager
def stop_on_signals(trainer: Trainer) -> Iterator[None]:
    """SIGINT/SIGTERM set ``trainer.interrupted``; the loop saves and stops after the step.

    A second Ctrl-C stops at once. A repeated SIGTERM does not: a DDP worker receives its
    parent-death SIGTERM once per thread of the dying launcher (the kernel re-sends it at
    each reparenting), and must still save."""
    def handler(signum: int, frame: Any) -> None:
        if trainer.interrupted and signum == signal.SIGINT:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        trainer.interrupted = True

    try:
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: no handlers
        old = {}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def final_metrics(t: Trainer, parts: setup.Parts, data: Any, spec: Spec) -> dict[str, Any]:
    """metrics.json: the headline (best checkpoint) and last epoch's figures on every split."""
    from archopt.data import Loader

    loaders = {name: Loader(getattr(data, name), spec.data.batch_size, shuffle=False,
                            seed=spec.seed, device=t.device)
               for name in ("train", "val", "test")
               if getattr(data, name) is not None and len(getattr(data, name))}
    es = spec.train.early_stopping
    out = results.final_metrics(t, loaders, parts.final_metrics, spec.train.final_train_pass,
                                use_best=es is None or es.restore_best)
    out["threads"] = t.threads  # CPU threads per process (train.threads, or measured)
    return out
