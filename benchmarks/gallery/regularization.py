"""Regularization study: a wide MLP that overfits MNIST-1D (2000 training examples), with one
technique at a time: none, L2 penalty, dropout, batch norm, augmentation, early stopping, and
all of them together. Train/test accuracy gap and test accuracy; a PNG of the val curves.

    .venv/bin/python benchmarks/gallery/regularization.py [--fresh]
"""

from __future__ import annotations

import time

from common import DOCS, history, link, run_spec, table, write_result

SPEC = "examples/gallery/mnist1d_regularization.yaml"
AUGMENT = "data.augment=[{name: random_shift, max: 3}, {name: gaussian_noise, std: 0.05}]"
EARLY = "train.early_stopping={monitor: val_accuracy, patience: 15}"
VARIANTS = {
    "none": [],
    "L2 (1e-3 * sum w^2)": ["train.regularization.l2=0.001"],
    "L2 (1e-2 * sum w^2)": ["train.regularization.l2=0.01"],
    "dropout 0.5": ["model.dropout=0.5"],
    "batch norm": ["model.norm=batch"],
    "augmentation (shift 3, noise 0.05)": [AUGMENT],
    "early stopping (val acc, patience 15)": [EARLY],
    "all of the above": ["train.regularization.l2=0.001", "model.dropout=0.5",
                         "model.norm=batch", AUGMENT, EARLY],
}


def main() -> None:
    t0 = time.perf_counter()
    rows, curves = [], {}
    for name, sets in VARIANTS.items():
        m = run_spec("reg_" + "".join(c if c.isalnum() else "_" for c in name)[:40], SPEC, sets)
        tr, te = m["train"]["accuracy"], m["test"]["accuracy"]
        rows.append([name, "`" + "` `".join(sets) + "`" if sets else "",
                     f"{100 * tr:.1f}%", f"{100 * te:.1f}%", f"{100 * (tr - te):.1f}",
                     m["epochs"], f"{m['train_time_s']:.0f}"])
        curves[name] = history(m["run_dir"])
    md = table(["regularization", "overrides", "train acc", "test acc", "gap (pts)", "epochs",
                "train s"], rows)
    md += (f"\n\nSpec: {link(SPEC)} (MLP 40-512-512-10, Adam 1e-3, 100 epochs, 2000 training "
           "examples); train accuracy is measured in eval mode on the un-augmented train split.")
    plot(curves)
    write_result("regularization", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/regularization.py")


def plot(curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, hist in curves.items():
        ax.plot([h["epoch"] for h in hist], [100 * h["val_accuracy"] for h in hist], label=name)
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)",
           title="MNIST-1D, wide MLP on 2000 examples")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    DOCS.mkdir(parents=True, exist_ok=True)
    fig.savefig(DOCS / "regularization.png", dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    main()
