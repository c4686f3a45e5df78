"""MNIST-1D, the paper's four models with the paper's settings (Adam 1e-2, batch 100, 6000
steps), on ordered and shuffled sequences, beside the published test accuracy.

Reference: Greydanus & Kobak, "Scaling down deep learning with MNIST-1D" (ICML 2024), Table 1.

    .venv/bin/python benchmarks/gallery/mnist1d_paper.py [--fresh]
"""

from __future__ import annotations

import time

from common import link, pct, run_spec, table, write_result

PAPER = {"linear": (0.32, 0.32), "mlp": (0.68, 0.68), "cnn": (0.94, 0.56), "gru": (0.91, 0.57)}
SPREAD_SEEDS = [42, 0, 1]
LABEL = {"linear": "logistic regression", "mlp": "MLP", "cnn": "CNN", "gru": "GRU"}


def main() -> None:
    t0 = time.perf_counter()
    rows = []
    for model, (ref, ref_shuf) in PAPER.items():
        spec = f"examples/mnist1d/paper_{model}.yaml"
        spec_s = f"examples/mnist1d/paper_{model}_shuffled.yaml"
        m = run_spec(f"paper_{model}", spec)
        s = run_spec(f"paper_{model}_shuffled", spec_s)
        a, b = m["test"]["accuracy"], s["test"]["accuracy"]
        rows.append([LABEL[model], link(spec), pct(a), pct(ref), f"{100 * (a - ref):+.1f}",
                     link(spec_s), pct(b), pct(ref_shuf), f"{100 * (b - ref_shuf):+.1f}",
                     f"{m['train_time_s'] + s['train_time_s']:.0f}"])
    md = table(["model", "spec", "test acc", "paper", "diff (pts)", "shuffled spec",
                "shuffled acc", "paper", "diff (pts)", "train s (both)"], rows)
    # seed spread of the CNN, the paper model furthest from its figure
    spread = []
    for seed in SPREAD_SEEDS:
        key = f"_seed{seed}" if seed != 42 else ""
        accs = [run_spec(f"paper_cnn{sfx}{key}", f"examples/mnist1d/paper_cnn{sfx}.yaml",
                         [f"seed={seed}"])["test"]["accuracy"] for sfx in ("", "_shuffled")]
        spread.append([seed, pct(accs[0]), pct(accs[1])])
    md += ("\n\nCNN across seeds (model init and data order; the data itself is fixed):\n\n"
           + table(["seed", "CNN test acc", "CNN shuffled test acc"], spread))
    write_result("mnist1d_paper", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/mnist1d_paper.py")


if __name__ == "__main__":
    main()
