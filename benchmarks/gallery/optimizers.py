"""Optimizer study: one model and data (an MLP on the digits), seven optimizers, each at the best
of four constant learning rates (chosen by final validation accuracy, then validation loss);
test accuracy of the chosen run and a PNG of every optimizer's validation curves.

    .venv/bin/python benchmarks/gallery/optimizers.py [--fresh]
"""

from __future__ import annotations

import time

from common import DOCS, history, link, run_spec, table, write_result

SPEC = "examples/gallery/digits_optimizers.yaml"
LRS = {
    "sgd": [0.03, 0.1, 0.3, 1.0],
    "momentum": [0.01, 0.03, 0.1, 0.3],
    "nesterov": [0.01, 0.03, 0.1, 0.3],
    "adagrad": [0.01, 0.03, 0.1, 0.3],
    "rmsprop": [0.0001, 0.0003, 0.001, 0.003],
    "adam": [0.0001, 0.0003, 0.001, 0.003],
    "adamw": [0.0001, 0.0003, 0.001, 0.003],
}
EXTRA = {"adamw": ["train.optimizer.weight_decay=0.01"]}


def main() -> None:
    t0 = time.perf_counter()
    rows, curves = [], {}
    for opt, lrs in LRS.items():
        runs = {}
        for lr in lrs:
            sets = [f"train.optimizer.name={opt}", f"train.optimizer.lr={lr}", *EXTRA.get(opt, [])]
            runs[lr] = run_spec(f"opt_{opt}_{lr:g}", SPEC, sets, may_diverge=True)
        ok = [lr for lr in lrs if runs[lr] is not None]
        best = max(ok, key=lambda lr: (runs[lr]["val"]["accuracy"], -runs[lr]["val"]["loss"]))
        m = runs[best]
        curves[opt] = (best, history(m["run_dir"]))
        sweep = ", ".join(f"{lr:g}: {100 * r['val']['accuracy']:.1f}%" if r else f"{lr:g}: NaN"
                          for lr, r in runs.items())
        rows.append([opt, f"{best:g}", sweep, f"{100 * m['val']['accuracy']:.1f}%",
                     f"{100 * m['test']['accuracy']:.1f}%", f"{m['val']['loss']:.3f}",
                     f"{m['train_time_s']:.0f}"])
    md = table(["optimizer", "best lr", "val acc per lr", "val acc", "test acc", "val loss",
                "train s"], rows)
    md += f"\n\nSpec: {link(SPEC)} with `--set train.optimizer.name=... train.optimizer.lr=...`."
    plot(curves)
    write_result("optimizers", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/optimizers.py")


def plot(curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for opt, (lr, hist) in curves.items():
        ep = [h["epoch"] for h in hist]
        a1.plot(ep, [h["val_loss"] for h in hist], label=f"{opt} (lr {lr:g})")
        a2.plot(ep, [100 * h["val_accuracy"] for h in hist], label=f"{opt} (lr {lr:g})")
    a1.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="digits MLP")
    a2.set(xlabel="epoch", ylabel="validation accuracy (%)", ylim=(80, 100),
           title="best lr per optimizer")
    a2.legend(fontsize=7, loc="lower right")
    for a in (a1, a2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    DOCS.mkdir(parents=True, exist_ok=True)
    fig.savefig(DOCS / "optimizers.png", dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
