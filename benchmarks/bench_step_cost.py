"""The cost of one more training step: ``archopt.fit`` against a hand-written loop, in one process.

    .venv/bin/python benchmarks/bench_step_cost.py [--repeats 5] [--short 400] [--long 2400]

The whole-run comparison (``bench_whole_run.py``) runs two processes side by side; on a shared
2-core machine their CPU times move by 20-30% with the load, which hides a 5% difference. This
script separates the two parts of a whole run instead:

- **per step** (slope): each variant trains the MNIST-1D paper CNN (``paper_cnn.yaml``: batch 100,
  Adam 1e-2, 1 thread) for ``--short`` and for ``--long`` steps, in this one process, the four
  runs interleaved and their order rotated each repeat; the slope is
  ``(CPU(long) - CPU(short)) / (long - short)``. archopt's slope includes everything it does per
  step and per epoch (train metrics, history, TensorBoard, checkpoints, the validation-free
  epoch end of this spec); the script's includes its bare loop.
- **fixed** (intercept): CPU(short) - short x slope, i.e. data, model, memory estimate, final
  test pass, run directory (and, for archopt, everything it writes at the start and end).

Process start (``import torch`` and archopt's imports) is measured by ``bench_startup.py``.
CPU time is this process's (all threads: checkpoint writes in the background count).

``--callgrind``: count instructions instead of seconds, which the machine's load does not move:

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/cg.%p \
        .venv/bin/python benchmarks/bench_step_cost.py --callgrind /tmp/cg --short 100 --long 300

Each variant's two runs then go once (the counts repeat to a fraction of a percent); the script
asks callgrind for a dump after each run (``callgrind_control --dump``) and reads the instructions
each run executed. About 50x slower than native (import torch alone takes minutes), and the
wall-clock checkpoint interval fires more often than it would natively, against archopt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from machine import cpu_model  # benchmarks/machine.py (scripts run from benchmarks/)
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "mnist1d" / "paper_cnn.yaml"
sys.path.insert(0, str(ROOT / "src"))
import archopt  # noqa: E402


def manual(data: dict[str, torch.Tensor], steps: int) -> float:
    """The paper's loop as a user writes it; returns the test accuracy."""
    x, y, xt, yt = data["x"], data["y"], data["xt"], data["yt"]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1),
                          nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(125, 10))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    step = 0
    while step < steps:
        for i in range(0, len(x), 100):
            loss = nn.functional.cross_entropy(model(x[i:i + 100]), y[i:i + 100])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step == steps:
                break
    model.eval()
    with torch.no_grad():
        return (model(xt).argmax(1) == yt).float().mean().item()


def with_archopt(steps: int, out: Path) -> float:
    spec = archopt.load_spec(SPEC, overrides=[f"train.max_steps={steps}"])
    result = archopt.fit(spec, out=out, quiet=True)
    return float(result["test"]["accuracy"])


def dump(folder: Path, label: str) -> Path:
    """Ask callgrind to dump the counts since the last dump; the dump's file. The file is read
    after the last dump: reading it here would count in the next run's instructions."""
    before = set(folder.iterdir())
    subprocess.Popen(["callgrind_control", "--dump=" + label, str(os.getpid())],
                     stdout=subprocess.DEVNULL)
    while True:  # callgrind polls for the request while this process runs, not while it waits
        new = [p for p in set(folder.iterdir()) - before if p.stat().st_size > 0]
        if new:
            time.sleep(0.5)  # let the file be written whole
            return new[0]
        sum(range(1000))


def instructions(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError(f"{path}: no summary line")


def count_instructions(folder: Path, data: dict[str, torch.Tensor], args: argparse.Namespace,
                       tmp: Path) -> None:
    dump(folder, "start")
    files: dict[tuple[str, int], Path] = {}
    for variant in ("manual", "archopt"):
        for n in (args.short, args.long):
            manual(data, n) if variant == "manual" else with_archopt(n, tmp / f"cg-{n}")
            files[(variant, n)] = dump(folder, f"{variant}-{n}")
    ir = {k: instructions(f) for k, f in files.items()}
    for (variant, n), count in ir.items():
        print(f"{variant:7s} {n:5d} steps: {count / 1e9:.3f} G instructions")
    per = {v: (ir[(v, args.long)] - ir[(v, args.short)]) / (args.long - args.short)
           for v in ("manual", "archopt")}
    for v in per:
        fixed = ir[(v, args.short)] - args.short * per[v]
        print(f"{v}: {per[v] / 1e6:.2f} M instructions per step, fixed {fixed / 1e9:.3f} G")
    print(f"per-step ratio archopt / manual: {per['archopt'] / per['manual']:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--short", type=int, default=400)
    ap.add_argument("--long", type=int, default=2400)
    ap.add_argument("--callgrind", metavar="DIR", type=Path,
                    help="count instructions (run under valgrind --tool=callgrind, dumps in DIR)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    d = archopt.load_data({"name": "mnist1d", "val_split": 0.0, "normalize": False}, 42)
    data = {"x": d.train.x[..., 0][:, None].contiguous(), "y": d.train.y.long(),
            "xt": d.test.x[..., 0][:, None].contiguous(), "yt": d.test.y.long()}
    tmp = Path(tempfile.mkdtemp())
    with_archopt(40, tmp / "warm")  # first-call costs (imports, caches) are start-up's business
    manual(data, 40)
    if args.callgrind:
        count_instructions(args.callgrind, data, args, tmp)
        return
    jobs = [(v, n) for v in ("archopt", "manual") for n in (args.short, args.long)]
    cpu: dict[tuple[str, int], list[float]] = {j: [] for j in jobs}
    for r in range(args.repeats):
        for k, (variant, n) in enumerate(jobs[r % 4:] + jobs[:r % 4]):
            c0 = time.process_time()
            if variant == "manual":
                manual(data, n)
            else:
                with_archopt(n, tmp / f"run-{r}-{k}")
            cpu[(variant, n)].append(time.process_time() - c0)
            print(f"repeat {r} {variant:7s} {n:5d} steps: {cpu[(variant, n)][-1]:.2f} s CPU",
                  flush=True)
    span = args.long - args.short
    print(f"\nmachine: {cpu_model()}, load at end {os.getloadavg()[0]:.1f}")
    print("| variant | CPU per step (ms) | fixed CPU (s) | CPU of a 6000-step run, "
          "without process start (s) |")
    print("|---|---:|---:|---:|")
    slopes = {}
    for variant in ("manual", "archopt"):
        per = [(lo_hi[1] - lo_hi[0]) / span for lo_hi in
               zip(cpu[(variant, args.short)], cpu[(variant, args.long)])]
        slope = statistics.median(per)
        fixed = statistics.median(cpu[(variant, args.short)]) - args.short * slope
        slopes[variant] = per
        print(f"| {variant} | {1000 * slope:.3f} [{1000 * min(per):.3f}-{1000 * max(per):.3f}]"
              f" | {fixed:.2f} | {fixed + 6000 * slope:.1f} |")
    ratios = [a / m for a, m in zip(slopes["archopt"], slopes["manual"])]
    print(f"\nper-step ratio archopt / manual, per repeat: "
          f"{' '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
