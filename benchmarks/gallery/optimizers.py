"""Optimizer study: seven optimizers on the same model and data, each at the best of four
constant learning rates (chosen by final validation accuracy, then validation loss); test
accuracy of the chosen run and a PNG of every optimizer's validation curves. Two settings: an
MLP on the digits (easy) and the MNIST-1D paper's CNN (harder).

    .venv/bin/python benchmarks/gallery/optimizers.py [--fresh]
"""

from __future__ import annotations

import time

from common import DOCS, history, link, run_spec, table, write_result

SLOW = [0.01, 0.03, 0.1, 0.3]        # SGD with momentum, AdaGrad
ADAPTIVE = [0.0001, 0.0003, 0.001, 0.003]
FAST = [0.003, 0.01, 0.03, 0.1]    # adaptive methods on the small CNN
SETTINGS = {
    # name: (spec, run-key prefix, {optimizer: learning rates}, accuracy axis floor)
    "digits MLP": ("examples/gallery/digits_optimizers.yaml", "opt", {
        "sgd": [0.03, 0.1, 0.3, 1.0], "momentum": SLOW, "nesterov": SLOW, "adagrad": SLOW,
        "rmsprop": ADAPTIVE, "adam": ADAPTIVE, "adamw": ADAPTIVE}, 80),
    "MNIST-1D paper CNN": ("examples/gallery/mnist1d_optimizers.yaml", "opt1d", {
        "sgd": [0.03, 0.1, 0.3, 1.0], "momentum": SLOW, "nesterov": SLOW, "adagrad": SLOW,
        "rmsprop": FAST, "adam": FAST, "adamw": FAST}, 50),
}
EXTRA = {"adamw": ["train.optimizer.weight_decay=0.01"]}


def study(spec: str, prefix: str, grid: dict) -> tuple[str, dict]:
    """The table of one setting and the best run's history per optimizer."""
    rows, curves = [], {}
    for opt, lrs in grid.items():
        runs = {}
        for lr in lrs:
            sets = [f"train.optimizer.name={opt}", f"train.optimizer.lr={lr}", *EXTRA.get(opt, [])]
            runs[lr] = run_spec(f"{prefix}_{opt}_{lr:g}", spec, sets, may_diverge=True)
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
    return md + (f"\n\nSpec: {link(spec)} with `--set train.optimizer.name=... "
                 "--set train.optimizer.lr=...`."), curves


def main() -> None:
    t0 = time.perf_counter()
    parts, all_curves = [], {}
    for name, (spec, prefix, grid, floor) in SETTINGS.items():
        md, curves = study(spec, prefix, grid)
        parts.append(f"**{name}**\n\n{md}")
        all_curves[name] = (curves, floor)
    plot(all_curves)
    write_result("optimizers", "\n\n".join(parts), time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/optimizers.py")


def plot(settings: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(settings), 2, figsize=(10, 3.6 * len(settings)), squeeze=False)
    for (a1, a2), (name, (curves, floor)) in zip(axes, settings.items()):
        for opt, (lr, hist) in curves.items():
            ep = [h["epoch"] for h in hist]
            a1.plot(ep, [h["val_loss"] for h in hist], label=f"{opt} (lr {lr:g})")
            a2.plot(ep, [100 * h["val_accuracy"] for h in hist], label=f"{opt} (lr {lr:g})")
        a1.set(xlabel="epoch", ylabel="validation loss", yscale="log", title=name)
        a2.set(xlabel="epoch", ylabel="validation accuracy (%)", ylim=(floor, 100),
               title=f"{name}: best lr per optimizer")
        a2.legend(fontsize=7, loc="lower right")
        for a in (a1, a2):
            a.grid(alpha=0.3)
    fig.tight_layout()
    DOCS.mkdir(parents=True, exist_ok=True)
    fig.savefig(DOCS / "optimizers.png", dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
