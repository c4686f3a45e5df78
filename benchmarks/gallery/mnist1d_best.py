"""MNIST-1D, the best archopt spec per family (tuned on a 10% validation split), beside the
paper's figure for that family where it has one.

    .venv/bin/python benchmarks/gallery/mnist1d_best.py [--fresh] [--only cnn,gru]
"""

from __future__ import annotations

import sys
import time

from common import DOCS, OUT, link, pct, run_spec, table, write_result

# family -> (spec, paper figure of the closest paper model, which one)
SPECS = {
    "cnn": ("examples/gallery/mnist1d_cnn.yaml", 0.94, "CNN"),
    "resnet": ("examples/gallery/mnist1d_resnet.yaml", 0.94, "CNN"),
    "lstm": ("examples/gallery/mnist1d_lstm.yaml", 0.91, "GRU"),
    "gru": ("examples/gallery/mnist1d_gru.yaml", 0.91, "GRU"),
    "transformer": ("examples/gallery/mnist1d_transformer.yaml", None, ""),
    "mlp": ("examples/gallery/mnist1d_mlp.yaml", 0.68, "MLP"),
}


def params_of(run_dir: str) -> int:
    import archopt
    from archopt.data import load_data
    from archopt.models import build_model

    spec = archopt.load_spec(f"{run_dir}/spec.yaml")
    model = build_model(spec.model, load_data(spec.data, spec.seed).shape, seed=spec.seed)
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    only = None
    if "--only" in sys.argv:
        only = sys.argv[sys.argv.index("--only") + 1].split(",")
    t0 = time.perf_counter()
    rows = []
    for fam, (spec, ref, ref_name) in SPECS.items():
        if only and fam not in only:
            continue
        m = run_spec(f"best_{fam}", spec)
        acc = m["test"]["accuracy"]
        rows.append([fam, link(spec), f"{params_of(m['run_dir']):,}", pct(m["val"]["accuracy"]),
                     pct(acc), f"{pct(ref)} ({ref_name})" if ref else "n/a",
                     f"{100 * (acc - ref):+.1f}" if ref else "", f"{m['train_time_s']:.0f}"])
    md = table(["family", "spec", "params", "val acc", "test acc", "paper", "diff (pts)",
                "train s"], rows)
    if not only:
        plot({fam: r[4] for fam, r in zip(SPECS, rows)})
        md += "\n\n![MNIST-1D test accuracy](../docs/gallery/mnist1d.png)"
    write_result("mnist1d_best", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/mnist1d_best.py")


def plot(best: dict[str, str]) -> None:
    """Bars: the paper's four models (paper figure and archopt's reproduction, from the runs of
    mnist1d_paper.py when present) and archopt's best spec per family."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paper = {"linear": 32, "mlp": 68, "cnn": 94, "gru": 91}
    fig, ax = plt.subplots(figsize=(9, 3.8))
    x = 0
    ticks, labels = [], []
    for model, ref in paper.items():
        ax.bar(x, ref, color="#bbbbbb", label="paper" if x == 0 else None)
        done = OUT / f"paper_{model}" / "metrics.json"
        if done.is_file():
            acc = 100 * json.loads(done.read_text())["test"]["accuracy"]
            ax.bar(x + 0.8, acc, color="#4c72b0", label="archopt, paper spec" if x == 0 else None)
        ticks.append(x + 0.4)
        labels.append(f"paper {model}")
        x += 2.2
    for i, (fam, acc) in enumerate(best.items()):
        ax.bar(x, float(acc.rstrip("%")), color="#dd8452", label="archopt, best spec" if i == 0
               else None)
        ticks.append(x)
        labels.append(fam)
        x += 1.2
    ax.set_xticks(ticks, labels, rotation=30, fontsize=8)
    ax.set(ylabel="test accuracy (%)", ylim=(0, 100), title="MNIST-1D (4000 train / 1000 test)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    DOCS.mkdir(parents=True, exist_ok=True)
    fig.savefig(DOCS / "mnist1d.png", dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
