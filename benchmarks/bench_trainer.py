"""The trainer's overhead over a hand-written PyTorch loop, and digits accuracy with a small CNN.

    .venv/bin/python benchmarks/bench_trainer.py [--repeats 15] [--threads 2] [--write]

1) Overhead: one epoch of archopt's loop (``archopt.train.loop.run``: the step, metric
   accumulation, callbacks, the epoch summary with train metrics; no files) against a plain loop
   over the same in-memory tensors (seeded permutation, index, forward, cross-entropy, backward,
   step), same model, data, batch and optimizer. Interleaved repeats, medians. Also the loop with
   its files (history, last.pt every epoch). Target: ratio <= 1.05.
2) Accuracy: ``archopt.fit`` on digits with a small CNN (3 seeds), wall time of the whole fit.
   Target: >= 98% test accuracy in < 60 s on 2 cores.
``--write`` puts the tables in benchmarks/RESULTS.md (replacing this script's section only).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import cpu_model  # benchmarks/machine.py (scripts run from benchmarks/)
from torch import nn

import archopt
from archopt.train import loop
from archopt.train.fit import build_trainer, prepare

SECTION = "## Trainer (benchmarks/bench_trainer.py)"
NOTES = (
    "Notes. On a shared machine (load 4-12 on 2 cores while other jobs ran) wall-clock "
    "medians swing several-fold between runs, so the overhead is measured in process CPU time "
    "with 1 thread (`--clock cpu`; `--clock wall` is the default). What archopt adds per step "
    "is a finiteness check, an append of the loss and outputs, and the callback dispatch (tens "
    "of microseconds); per epoch, the train metrics through scikit-learn (about 1 ms). `+files` "
    "adds a fixed cost per epoch (serializing last.pt and best.pt, TensorBoard, history): 10-20 "
    "ms of CPU (this benchmark also counts opening and closing the TensorBoard writer, once per "
    "fit in real runs), visible only because these epochs last 70 ms; the write and fsync run "
    "in a background thread.")
LOAD = [0.0]  # load average when the benchmark started
CLOCK = time.perf_counter  # --clock cpu: process CPU time (steadier on a shared machine)

OVERHEAD = {
    "MNIST-1D paper CNN": {
        "data": {"name": "mnist1d", "val_split": 0.0, "batch_size": 100, "normalize": False},
        "model": {"name": "mnist1d_cnn"},
        "train": {"epochs": 10_000, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"]}},
    "digits CNN": {
        "data": {"name": "digits", "val_split": 0.0, "batch_size": 64},
        "model": {"name": "cnn", "channels": [32, 64], "norm": "batch", "global_pool": False},
        "train": {"epochs": 10_000, "optimizer": {"name": "adamw", "lr": 0.003},
                  "metrics": ["accuracy"]}},
}

DIGITS = {
    "data": {"name": "digits", "val_split": 0.0, "batch_size": 64},
    "model": {"name": "cnn", "channels": [32, 64], "norm": "batch", "global_pool": False,
              "dropout": 0.2},
    "train": {"epochs": 15, "optimizer": {"name": "adamw", "lr": 0.003, "weight_decay": 1e-4},
              "scheduler": {"name": "onecycle"}, "metrics": ["accuracy"]},
}


def spec_of(name: str, sections: dict, seed: int = 0) -> archopt.Spec:
    return archopt.load_spec({"name": name.replace(" ", "-"), "seed": seed, "device": "cpu",
                              **sections})


class Manual:
    """The hand-written loop: the same model, data and optimizer as archopt's."""

    def __init__(self, spec: archopt.Spec) -> None:
        p = prepare(spec)
        self.x, self.y = p.data.train.x, p.data.train.y
        self.model, self.opt = p.model, p.optimizers["main"]
        self.batch, self.seed, self.epoch = spec.data.batch_size, spec.seed, 0

    def epoch_time(self) -> float:
        t0 = CLOCK()
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        perm = torch.randperm(len(self.x), generator=gen)
        self.model.train()
        for i in range(0, len(perm), self.batch):
            idx = perm[i:i + self.batch]
            loss = nn.functional.cross_entropy(self.model(self.x[idx]), self.y[idx])
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
        self.epoch += 1
        return CLOCK() - t0


class Archopt:
    """archopt's loop, one epoch per call (``run_dir`` None: no files)."""

    def __init__(self, spec: archopt.Spec, run_dir: Path | None) -> None:
        self.trainer = build_trainer(spec, prepare(spec), run_dir, quiet=True)
        if run_dir is not None:
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)

    def epoch_time(self) -> float:
        t = self.trainer
        t.epochs = t.epoch + 1
        t0 = CLOCK()
        loop.run(t)
        return CLOCK() - t0


def overhead(repeats: int) -> list[list]:
    rows = []
    for name, sections in OVERHEAD.items():
        spec = spec_of(name, sections)
        with tempfile.TemporaryDirectory() as tmp:
            runners = {"manual": Manual(spec), "archopt": Archopt(spec, None),
                       "archopt+files": Archopt(spec, Path(tmp) / "run")}
            times: dict[str, list[float]] = {k: [] for k in runners}
            for r in runners.values():  # warm-up
                r.epoch_time()
            for i in range(repeats):  # interleaved, the order rotated each repeat
                keys = list(runners)
                keys = keys[i % 3:] + keys[:i % 3]
                for k in keys:
                    times[k].append(runners[k].epoch_time())
        med = {k: statistics.median(v) for k, v in times.items()}
        steps = runners["archopt"].trainer.steps_per_epoch
        rows.append([name, steps, med["manual"], med["archopt"], med["archopt+files"],
                     med["archopt"] / med["manual"], med["archopt+files"] / med["manual"]])
        print(f"{name}: manual {med['manual']:.4f}s archopt {med['archopt']:.4f}s "
              f"(x{rows[-1][5]:.3f}) with files {med['archopt+files']:.4f}s "
              f"(x{rows[-1][6]:.3f})", flush=True)
    return rows


def digits(seeds: list[int]) -> list[list]:
    rows = []
    for seed in seeds:
        spec = spec_of("digits-cnn", DIGITS, seed)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            r = archopt.fit(spec, out=Path(tmp) / "run", quiet=True)
            wall = time.perf_counter() - t0
        rows.append([seed, r["test"]["accuracy"], r["train_time_s"], wall])
        print(f"digits seed {seed}: test accuracy {r['test']['accuracy']:.4f}, "
              f"fit {wall:.1f}s", flush=True)
    return rows


def markdown(args: argparse.Namespace, over: list[list], acc: list[list]) -> str:
    lines = [SECTION, "",
             f"Command: `.venv/bin/python benchmarks/bench_trainer.py --repeats {args.repeats} "
             f"--threads {args.threads} --clock {args.clock}`  ",
             f"Machine: nproc {os.cpu_count()}, {cpu_model()}; torch {torch.__version__}, "
             f"{args.threads} threads; Python {platform.python_version()}; load average "
             f"{LOAD[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (a machine shared "
             "with other jobs)  ",
             f"Epoch time ({args.clock} clock), median of interleaved repeats (after one warm-up "
             "epoch each). "
             "`archopt` = `loop.run` for one epoch (step, metric accumulation, callbacks, "
             "train accuracy at the epoch's end), no files; `+files` adds what `fit` writes every "
             "epoch: history.jsonl, checkpoints/last.pt and best.pt (serialized in the loop, "
             "written in a background thread) and TensorBoard events. Manual = a plain PyTorch "
             "loop over the same in-memory tensors.", "",
             "| model | steps/epoch | manual (s) | archopt (s) | archopt+files (s) | ratio | "
             "ratio +files | target |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, steps, man, arc, files, ratio, ratio_f in over:
        ok = "met" if ratio <= 1.05 else "missed"
        lines.append(f"| {name} | {steps} | {man:.4f} | {arc:.4f} | {files:.4f} | "
                     f"{ratio:.3f} | {ratio_f:.3f} | <= 1.05: {ok} |")
    lines += ["", "Digits, small CNN (conv 32-64, batch norm, dropout 0.2, AdamW 3e-3, onecycle, "
              "15 epochs, batch 64; test split 20% = 360 images): `archopt.fit` wall time, "
              "data loading and final evaluation included.", "",
              "| seed | test accuracy | train time (s) | fit wall time (s) | target |",
              "|---:|---:|---:|---:|---|"]
    for seed, a, tt, wall in acc:
        ok = "met" if a >= 0.98 and wall < 60 else "missed"
        lines.append(f"| {seed} | {a:.4f} | {tt:.1f} | {wall:.1f} | >= 0.98 in < 60 s: {ok} |")
    lines += ["", NOTES]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    path = Path(__file__).parent / "RESULTS.md"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    if SECTION in old:
        head, rest = old.split(SECTION, 1)
        nxt = rest.find("\n## ")
        old = head + (rest[nxt + 1:] if nxt >= 0 else "")
    path.write_text(old.rstrip("\n") + "\n\n" + text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="epoch times in wall-clock or process CPU seconds")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.perf_counter if args.clock == "wall" else time.process_time
    torch.set_num_threads(args.threads)
    LOAD[0] = os.getloadavg()[0]
    for sections in [*OVERHEAD.values(), DIGITS]:
        sections["train"]["threads"] = args.threads
    over = overhead(args.repeats)
    acc = [] if args.skip_accuracy else digits(args.seeds)
    text = markdown(args, over, acc)
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    sys.exit(main())
