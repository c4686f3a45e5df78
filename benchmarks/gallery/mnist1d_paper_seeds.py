"""MNIST-1D, the paper's four models over several seeds: mean, spread and range of the test
accuracy and of the training time, beside the paper (one seed is not a result: CPU kernels and
seeds move these figures by points).

    .venv/bin/python benchmarks/gallery/mnist1d_paper_seeds.py [--fresh] [--seeds 42,0,1,2,3]
        [--models linear,mlp,cnn,gru]

The seed moves the model's initial weights (the data and, with ``shuffle: false``, the batch
order are fixed). Runs are cached like every gallery study; seed 42 is the run
``mnist1d_paper.py`` and ``archopt demo`` make.
"""

from __future__ import annotations

import statistics
import sys
import time

from common import link, run_spec, table, write_result

PAPER = {"linear": 0.32, "mlp": 0.68, "cnn": 0.94, "gru": 0.91}
LABEL = {"linear": "logistic regression", "mlp": "MLP", "cnn": "CNN", "gru": "GRU"}


def seeds() -> list[int]:
    if "--seeds" in sys.argv:
        return [int(s) for s in sys.argv[sys.argv.index("--seeds") + 1].split(",")]
    return [42, 0, 1, 2, 3]


def models() -> list[str]:
    if "--models" in sys.argv:
        return sys.argv[sys.argv.index("--models") + 1].split(",")
    return list(PAPER)


def main() -> None:
    t0 = time.perf_counter()
    runs: dict[str, list[dict]] = {m: [] for m in models()}
    for model in models():
        for seed in seeds():
            key = f"paper_{model}" + (f"_seed{seed}" if seed != 42 else "")
            m = run_spec(key, f"examples/mnist1d/paper_{model}.yaml", [f"seed={seed}"])
            runs[model].append({"seed": seed, "acc": m["test"]["accuracy"],
                                "time": m["train_time_s"]})
    rows = []
    for model, rs in runs.items():
        acc = [100 * r["acc"] for r in rs]
        secs = [r["time"] for r in rs]
        rows.append([LABEL[model], link(f"examples/mnist1d/paper_{model}.yaml"),
                     f"{100 * PAPER[model]:.0f}%", f"{statistics.mean(acc):.1f}%",
                     f"{statistics.stdev(acc):.1f}" if len(acc) > 1 else "",
                     f"{min(acc):.1f}-{max(acc):.1f}%",
                     ", ".join(f"{a:.1f}" for a in acc),
                     f"{statistics.median(secs):.0f} [{min(secs):.0f}-{max(secs):.0f}]"])
    md = table(["model", "spec", "paper", "mean", "std (pts)", "range",
                f"per seed ({', '.join(str(s) for s in seeds())})",
                "train s, median [range]"], rows)
    write_result("mnist1d_paper_seeds", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/mnist1d_paper_seeds.py")


if __name__ == "__main__":
    main()
