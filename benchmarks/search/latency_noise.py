"""How noisy is ``archopt search``'s latency on this machine? Six MNIST-1D CNNs (the paper CNN,
the gallery CNN and four search candidates from 1 to 4 stages) are timed again and again the way
a search times a candidate (``archopt.search.costs.latency_costs``: batch 1, 1 thread, warm-up,
5 interleaved rounds of 10 calls, median), one model after another, ``--repeats`` times; then all
six together, round-robin (what the search does for its front at the end).

Reported per model: the median of the repeated measurements, their coefficient of variation
(std / mean across measurements: how much one measurement can be off), the mean within-
measurement spread the search records ((max - min) / median of a measurement's round medians),
and how often two measurements order a pair of models the same way (pairwise rank agreement).

    nice -n 10 .venv/bin/python benchmarks/search/latency_noise.py --repeats 10
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

MODELS = {
    "paper CNN (mnist1d_cnn)": {"name": "mnist1d_cnn"},
    "gallery CNN (3x64, bn, pool)": {"name": "cnn", "channels": [64, 64, 64],
                                     "kernel_sizes": [5, 3, 3], "norm": "batch", "pool": "max",
                                     "dropout": 0.1},
    "cnn [8]": {"name": "cnn", "channels": [8]},
    "cnn [16, 16]": {"name": "cnn", "channels": [16, 16]},
    "cnn [32, 32, 32] stride 2": {"name": "cnn", "channels": [32, 32, 32], "strides": 2,
                                  "pool": "none"},
    "cnn [64] x 4, bn": {"name": "cnn", "channels": [64] * 4, "norm": "batch"},
}
OPTIONS = {"batch_size": 1, "throughput_batch": None, "rounds": 5, "repeats": 10, "warmup": 5,
           "threads": 1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args()
    import torch

    from archopt.data import load_data
    from archopt.models import build_model
    from archopt.report.profile import example_input
    from archopt.search.costs import latency_costs, threads, time_interleaved

    torch.set_num_threads(1)
    shape = load_data({"name": "mnist1d"}, seed=42).shape
    models = {k: build_model(v, shape, seed=0).eval() for k, v in MODELS.items()}
    load0, t0, cpu0 = os.getloadavg()[0], time.perf_counter(), time.process_time()
    runs: dict[str, list[dict]] = {k: [] for k in models}
    for _ in range(args.repeats):
        for k, m in models.items():  # one after another, as a search meets its candidates
            runs[k].append(latency_costs(m, shape, OPTIONS, "cpu"))
    names = list(models)
    with threads(1):
        together = time_interleaved([models[k] for k in names],
                                    [[example_input(models[k], shape, 1)] for k in names],
                                    OPTIONS)
    wall, cpu, load1 = time.perf_counter() - t0, time.process_time() - cpu0, os.getloadavg()[0]
    print(f"{args.repeats} measurements per model; wall {wall:.0f} s, cpu {cpu:.0f} s; "
          f"load average {load0:.1f} at start, {load1:.1f} at end\n")
    print("| model | median of measurements (ms) | CV across measurements | mean spread within "
          "a measurement | round-robin together (ms) |")
    print("|---|---:|---:|---:|---:|")
    for k, (res,) in zip(names, together):
        ms = [r["latency_ms"] for r in runs[k]]
        cv = statistics.stdev(ms) / statistics.mean(ms) if len(ms) > 1 else 0.0
        spread = statistics.mean(r["latency_spread"] for r in runs[k])
        print(f"| {k} | {statistics.median(ms):.4f} | {100 * cv:.1f}% | {100 * spread:.1f}% | "
              f"{res['median']:.4f} |")
    agree = total = 0
    for a, b in itertools.combinations(names, 2):
        signs = [(ra["latency_ms"] > rb["latency_ms"]) for ra, rb in zip(runs[a], runs[b])]
        for s1, s2 in itertools.combinations(signs, 2):
            agree += s1 == s2
            total += 1
    pairs = len(names) * (len(names) - 1) // 2
    print(f"\npairwise order agreement between two measurements: {agree / total:.3f} "
          f"({pairs} model pairs x {total // pairs} measurement pairs)")


if __name__ == "__main__":
    main()
