"""MNIST-1D, the best archopt spec per family (tuned on a 10% validation split), beside the
paper's figure for that family where it has one.

    .venv/bin/python benchmarks/gallery/mnist1d_best.py [--fresh] [--only cnn,gru]
"""

from __future__ import annotations

import sys
import time

from common import link, pct, run_spec, table, write_result

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
    write_result("mnist1d_best", md, time.perf_counter() - t0,
                 ".venv/bin/python benchmarks/gallery/mnist1d_best.py")


if __name__ == "__main__":
    main()
