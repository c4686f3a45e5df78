"""Whole runs: ``archopt train`` as a user runs it (a fresh process, files on) against a
hand-written PyTorch script doing the same training, run side by side.

    .venv/bin/python benchmarks/bench_whole_run.py [--repeats 3] [--before SRC]
        [--only mnist1d,idx] [--idx-steps 20] [--write]

Workloads (issue 15, item 4):
1) ``mnist1d``: the MNIST-1D paper CNN, ``examples/mnist1d/paper_cnn.yaml`` (6000 steps of batch
   100 = 150 epochs of 40 steps; history, checkpoints, TensorBoard when installed) against a
   plain script: the same layers, Adam 1e-2, the data's own order, test accuracy at the end.
2) ``idx``: a 60,000-image 28x28 IDX folder generated here (10 classes, a class pattern plus
   noise; 10,000 test images), a two-conv CNN written as a ``sequential`` layer list, 20 steps
   of batch 64, default ``val_split``. 20 steps make the fixed costs visible: reading and
   normalizing the data, and the final metrics (which used to re-evaluate the whole training
   split).
Each repeat starts every variant at once (archopt, the script, and ``--before SRC``: another
copy of archopt's ``src/``) so that they share the machine's load; their order rotates. The
figures are each process's CPU time (user + system, children included) and wall time, and the
script's own training-loop time; ratios are of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import cpu_model  # benchmarks/machine.py (scripts run from benchmarks/)

SECTION = "## Whole runs against a hand-written script (benchmarks/bench_whole_run.py)"
ROOT = Path(__file__).resolve().parent.parent

MANUAL = r"""
import json, sys, time
import numpy as np
import torch
from torch import nn
torch.set_num_threads(1)
d = np.load(sys.argv[1])
kind, steps, batch, lr = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"]).long()
xt, yt = torch.from_numpy(d["xt"]), torch.from_numpy(d["yt"]).long()
torch.manual_seed(0)
if kind == "mnist1d":   # (N, 40) signals, the paper's CNN
    x, xt = x[:, None], xt[:, None]
    model = nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1),
                          nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(125, 10))
    order = lambda epoch: torch.arange(len(x))
else:                   # (N, 1, 28, 28) images, standardized with the training split's stats
    x, xt = x.float() / 255, xt.float() / 255
    mean, std = x.mean(), x.std()
    x, xt = (x - mean) / std, (xt - mean) / std
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    order = lambda epoch: torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch))
opt = torch.optim.Adam(model.parameters(), lr=lr)
t0, c0 = time.perf_counter(), time.process_time()
step, epoch = 0, 0
while step < steps:
    perm = order(epoch)
    for i in range(0, len(x), batch):
        idx = perm[i:i + batch]
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step == steps:
            break
    epoch += 1
train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
model.eval()
with torch.no_grad():
    acc = sum((model(xt[i:i + 1000]).argmax(1) == yt[i:i + 1000]).sum().item()
              for i in range(0, len(xt), 1000)) / len(xt)
print(json.dumps({"train_s": train_s, "train_cpu_s": train_cpu, "test_accuracy": acc}))
"""

IDX_SPEC = """name: idx60k
seed: 0
device: cpu
data: {{name: idx, path: {path}, batch_size: 64}}
model:
  name: sequential
  layers:
    - conv2d: {{out_channels: 16, kernel_size: 3, padding: 1}}
    - relu
    - max_pool2d: {{kernel_size: 2}}
    - conv2d: {{out_channels: 32, kernel_size: 3, padding: 1}}
    - relu
    - max_pool2d: {{kernel_size: 2}}
    - flatten
    - linear: {{out_features: auto}}
train: {{max_steps: {steps}, optimizer: {{name: adam, lr: 0.001}}, metrics: [accuracy], threads: 1}}
"""


def write_idx(path: Path, a: np.ndarray) -> None:
    code = {np.dtype("uint8"): 0x08}[a.dtype]
    header = bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    path.write_bytes(header + a.tobytes())


def make_idx(folder: Path) -> dict[str, np.ndarray]:
    """60,000 + 10,000 28x28 images: a fixed pattern per class plus noise, as uint8."""
    rng = np.random.default_rng(0)
    patterns = rng.uniform(0, 160, size=(10, 28, 28))
    out = {}
    for split, n in (("train", 60_000), ("test", 10_000)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = np.clip(patterns[y] + rng.normal(0, 60, size=(n, 28, 28)), 0, 255).astype(np.uint8)
        out[split] = (x, y)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / "train-images-idx3-ubyte", out["train"][0])
    write_idx(folder / "train-labels-idx1-ubyte", out["train"][1])
    write_idx(folder / "t10k-images-idx3-ubyte", out["test"][0])
    write_idx(folder / "t10k-labels-idx1-ubyte", out["test"][1])
    return {"x": out["train"][0][:, None], "y": out["train"][1],
            "xt": out["test"][0][:, None], "yt": out["test"][1]}


def mnist1d_arrays() -> dict[str, np.ndarray]:
    """The paper spec's data exactly as archopt loads it (no normalization, no val split)."""
    sys.path.insert(0, str(ROOT / "src"))
    import archopt

    data = archopt.load_data({"name": "mnist1d", "val_split": 0.0, "normalize": False}, 42)
    return {"x": data.train.x[..., 0].numpy(), "y": data.train.y.numpy(),
            "xt": data.test.x[..., 0].numpy(), "yt": data.test.y.numpy()}


def launch(cmd: list[str], env: dict[str, str], out: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=open(out, "w"), stderr=subprocess.STDOUT)


def wait_cpu(proc: subprocess.Popen) -> tuple[float, float]:
    """Wait for one child; its CPU seconds (user + system, its children included)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.time()


def one_repeat(work: dict, variants: dict[str, Path], tmp: Path, i: int) -> dict[str, dict]:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    procs = {}
    names = ["manual", *variants]
    names = names[i % len(names):] + names[:i % len(names)]
    start = time.time()
    for name in names:
        log = tmp / f"{work['key']}-{i}-{len(procs)}.log"
        if name == "manual":
            cmd = [sys.executable, "-c", MANUAL, str(work["npz"]), work["key"],
                   str(work["steps"]), str(work["batch"]), str(work["lr"])]
            procs[name] = (launch(cmd, env, log), log)
        else:
            run = tmp / f"run-{work['key']}-{i}-{abs(hash(name))}"
            cmd = [sys.executable, "-m", "archopt.cli.main", "train", str(work["spec"]),
                   "--out", str(run), "--quiet", "--json"]
            procs[name] = (launch(cmd, dict(env, PYTHONPATH=str(variants[name])), log), log)
    out = {}
    for name, (proc, log) in procs.items():
        cpu, end = wait_cpu(proc)
        text = log.read_text()
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed:\n{text}")
        res = json.loads(text[text.index("{"):]) if name != "manual" else \
            json.loads(text.strip().splitlines()[-1])
        acc = res["test_accuracy"] if name == "manual" else res["test"]["accuracy"]
        out[name] = {"cpu_s": cpu, "wall_s": end - start, "acc": acc,
                     "train_s": res.get("train_s"), "train_cpu_s": res.get("train_cpu_s")}
        print(f"  {work['key']} #{i} {name}: cpu {cpu:.1f} s, wall {end - start:.1f} s, "
              f"test acc {acc:.4f}", flush=True)
    return out


def section(results: dict, args: argparse.Namespace, load_start: float) -> str:
    load = os.getloadavg()[0]
    lines = [SECTION, "",
             f"Command: `.venv/bin/python benchmarks/bench_whole_run.py --repeats {args.repeats}"
             f" --mnist1d-steps {args.mnist1d_steps} --idx-steps {args.idx_steps}"
             + (" --before SRC" if args.before else "") + "`  ",
             f"Machine: nproc {os.cpu_count()}, {cpu_model()}; Python "
             f"{platform.python_version()}; 1 thread per process; load average "
             f"{load_start:.1f} at the start, {load:.1f} at the end (a machine shared with "
             "other jobs: wall times are not comparable between rows of different repeats, "
             "CPU times are)  ",
             f"Medians of {args.repeats} repeats, [min-max]; every variant of a repeat ran at "
             "the same time.", "",
             "| workload | variant | process CPU (s) | process wall (s) | test acc "
             "| CPU / script's CPU | CPU / script's training-loop CPU |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for key, runs in results.items():
        man = statistics.median(r["manual"]["cpu_s"] for r in runs)
        man_train = statistics.median(r["manual"]["train_cpu_s"] for r in runs)
        for name in runs[0]:
            cpu = [r[name]["cpu_s"] for r in runs]
            wall = [r[name]["wall_s"] for r in runs]
            acc = statistics.median(r[name]["acc"] for r in runs)
            med = statistics.median(cpu)
            lines.append(f"| {key} | {name} | {med:.1f} [{min(cpu):.1f}-{max(cpu):.1f}] | "
                         f"{statistics.median(wall):.0f} [{min(wall):.0f}-{max(wall):.0f}] | "
                         f"{acc:.4f} | {med / man:.3f} | {med / man_train:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", metavar="SRC", help="another archopt src/ to compare")
    ap.add_argument("--only", default="mnist1d,idx")
    ap.add_argument("--mnist1d-steps", type=int, default=6000,
                    help="fewer steps (a multiple of 40) for a quicker run on a busy machine")
    ap.add_argument("--idx-steps", type=int, default=20,
                    help="844 = one epoch of the 54,000 training images (the rest is val)")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--notes", default="")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    variants = {"archopt": ROOT / "src"}
    if args.before:
        variants["archopt before"] = Path(args.before)
    results: dict[str, list] = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        works = []
        if "mnist1d" in args.only:
            np.savez(tmp / "mnist1d.npz", **mnist1d_arrays())
            spec = (ROOT / "examples" / "mnist1d" / "paper_cnn.yaml").read_text()
            (tmp / "paper_cnn.yaml").write_text(spec.replace(
                "max_steps: 6000", f"max_steps: {args.mnist1d_steps}"))
            works.append({"key": "mnist1d", "npz": tmp / "mnist1d.npz",
                          "steps": args.mnist1d_steps, "batch": 100, "lr": 0.01,
                          "spec": tmp / "paper_cnn.yaml"})
        if "idx" in args.only:
            np.savez(tmp / "idx.npz", **make_idx(tmp / "idx60k"))
            spec = IDX_SPEC.format(path=tmp / "idx60k", steps=args.idx_steps)
            (tmp / "idx.yaml").write_text(spec)
            works.append({"key": "idx", "npz": tmp / "idx.npz", "steps": args.idx_steps,
                          "batch": 64, "lr": 0.001, "spec": tmp / "idx.yaml"})
        for work in works:
            results[work["key"]] = [one_repeat(work, variants, tmp, i)
                                    for i in range(args.repeats)]
    text = section(results, args, load_start)
    print(text)
    if args.write:
        path = ROOT / "benchmarks" / "RESULTS.md"
        doc = path.read_text()
        body = text + ("\n" + args.notes + "\n" if args.notes else "")
        if SECTION in doc:
            s = doc.index(SECTION)
            nxt = doc.find("\n## ", s + len(SECTION))
            doc = doc[:s] + body + (doc[nxt + 1:] if nxt != -1 else "")
        else:
            doc = doc.rstrip() + "\n\n" + body
        path.write_text(doc)


if __name__ == "__main__":
    main()
