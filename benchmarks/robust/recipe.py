"""Train one robust-training recipe through archopt and measure it: clean, PGD-40 and the
strongest of the attacks at eps 0.2 of the range, and the training's CPU time.

    nice -n 5 .venv/bin/python benchmarks/robust/recipe.py SPEC OUT [--set K=V ...]
        [--attack pgd,apgd-ce] [--standard]

Training time (``train_cpu_s``) is the CPU time of this process between each epoch's start and
its last step (``time.process_time``, one thread): the validation (with its PGD accuracy), fast
FGSM's guard and the checkpoints are only in ``fit_cpu_s``, the whole fit. Other jobs on the
machine still inflate CPU time a little (10-20% from load 7 to 12 here): compare runs made at
the same load. ``--standard`` trains the same spec with ``train.adversarial=null``: the time
that the "x standard" ratios divide by. Prints one JSON line, also OUT/recipe.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_robust import CPUTime  # noqa: E402


def main() -> None:
    import archopt

    ap = argparse.ArgumentParser()
    ap.add_argument("spec")
    ap.add_argument("out")
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--attack", default="pgd,apgd-ce")
    ap.add_argument("--standard", action="store_true")
    a = ap.parse_args()
    over = list(a.overrides) + (["train.adversarial=null"] if a.standard else [])
    spec = archopt.load_spec(a.spec, overrides=over)
    out = Path(a.out)
    clock = CPUTime()
    t0 = time.process_time()
    archopt.fit(spec, out=out, quiet=True, callbacks=[clock])
    fit_cpu = time.process_time() - t0
    hist = [json.loads(x) for x in (out / "history.jsonl").read_text().splitlines()]
    row: dict[str, Any] = {"run": str(out), "set": a.overrides, "standard": a.standard,
                           "train_cpu_s": round(clock.steps_s, 2), "fit_cpu_s": round(fit_cpu, 2),
                           "epochs": len(hist)}
    metrics = json.loads((out / "metrics.json").read_text())
    row["test_clean"] = metrics["test"]["accuracy"]
    row["best_epoch"] = metrics["headline"].get("epoch")
    if not a.standard:
        r = archopt.robustness(out, noise="none", attack=a.attack, eps=[0.0, 0.2], relative=True,
                               steps=40, checks=False, out=out / "robustness")
        for name, c in r["attacks"].items():
            row[f"{name}@0.2"] = c["accuracy"][-1]
        row["strongest@0.2"] = r["strongest"]["accuracy"][-1]
    print(json.dumps(row))
    (out / "recipe.json").write_text(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
