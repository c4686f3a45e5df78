"""Transfer, self-supervised and few-shot learning on digits and MNIST-1D (issue 20).

    nice -n 10 .venv/bin/python benchmarks/bench_transfer.py [--quick] [--out DIR]

1) SimCLR pretraining without labels on each dataset's whole training split (its CPU time);
2) label-scarce transfer with 1, 5 and 10 labelled examples per class, several seeds: from
   scratch, linear probe, fine-tuning, gradual unfreezing, self-training (``archopt
   transfer``): digits from SimCLR to all ten classes; MNIST-1D from supervised pretraining on
   digits 0-4 to 5-9, and from SimCLR to all ten;
3) digits few-shot: 5-way 1-shot and 5-shot episodes on digits 5-9's test images, by a
   prototypical network and a SimCLR encoder trained on 0-4 only, by the SimCLR encoder of 1)
   (every training image, no labels; one per seed), plain and centred (cl2n), and by that
   encoder fine-tuned as a prototypical network with the labels of 0-4, beside the raw pixels.

Every figure comes from ordinary runs under ``--out`` (default ``runs/bench-transfer``); a
killed benchmark run again continues where it stopped. ``--quick`` is a smoke run (minutes less,
not the published figures). Prints the tables as markdown for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from archopt.spec import load_spec  # noqa: E402
from archopt.train import fit  # noqa: E402
from archopt.transfer.compare import compare_transfer  # noqa: E402
from archopt.transfer.fewshot import fewshot  # noqa: E402

EX = ROOT / "examples" / "transfer"
# MNIST-1D's encoder: the CNN of the paper's recipe, its own augmentations for sequences
MNIST1D_MODEL = {"name": "cnn", "channels": [32, 32, 32], "kernel_sizes": [5, 3, 3],
                 "strides": [2, 2, 2], "norm": "batch", "global_pool": False}


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pretrain(spec_path: Path, out: Path, overrides: list[str]) -> tuple[Path, float]:
    """A SimCLR run (reused when finished); returns (run, CPU seconds it took here)."""
    if (out / "metrics.json").is_file():
        return out, float(json.loads((out / "bench_cpu.json").read_text())["cpu_s"])
    spec = load_spec(spec_path, overrides)
    start = cpu_s()
    fit(spec, out=out, quiet=True)
    took = cpu_s() - start
    (out / "bench_cpu.json").write_text(json.dumps({"cpu_s": took}))
    return out, took


def label_table(result: dict, name: str) -> str:
    recipes = list(dict.fromkeys(r["recipe"] for r in result["table"]))
    cell = {(r["recipe"], r["per_class"]): r for r in result["table"]}
    counts = list(dict.fromkeys(r["per_class"] for r in result["table"]))
    seeds = result["table"][0]["seeds"]
    lines = [f"{name}: test accuracy %, mean ± std over {seeds} seeds",
             "", "| labels per class | " + " | ".join(recipes) + " |",
             "|---|" + "---|" * len(recipes)]
    for k in counts:
        best = max(cell[r, k]["mean"] for r in recipes)
        row = []
        for r in recipes:
            c = cell[r, k]
            txt = f"{100 * c['mean']:.1f} ± {100 * c['std']:.1f}"
            row.append(f"**{txt}**" if c["mean"] == best else txt)
        lines.append(f"| {k} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def fewshot_cell(results: list[dict], i: int) -> str:
    """One encoder (mean ± 95% interval over episodes) or several seeds' encoders (the mean of
    their means ± the widest interval, and the lowest and highest seed)."""
    cells = [r["results"][i]["encoder"] for r in results]
    means = [c["mean"] for c in cells]
    text = f"{sum(means) / len(means):.1f} ± {max(c['ci95'] for c in cells):.1f}"
    return text if len(cells) == 1 else f"{text} ({min(means):.1f}-{max(means):.1f})"


def fewshot_table(rows: list[tuple[str, list[dict]]]) -> str:
    lines = ["| encoder | 5-way 1-shot % | 5-way 5-shot % |",
             "|---|---|---|"]
    raw = rows[0][1][0]["results"]
    lines.append("| raw pixels (nearest class mean) | " + " | ".join(
        f"{r['raw']['mean']:.1f} ± {r['raw']['ci95']:.1f}" for r in raw) + " |")
    for name, results in rows:
        lines.append(f"| {name} | " + " | ".join(
            fewshot_cell(results, i) for i in range(len(raw))) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run: fewer epochs and seeds")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-transfer"))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--only", default="digits,mnist1d,fewshot")
    args = ap.parse_args()
    out = Path(args.out)
    seeds = [int(s) for s in args.seeds.split(",")]
    only = args.only.split(",")
    q = args.quick
    t0 = time.time()
    report = []
    if "digits" in only:
        ssl, took = pretrain(EX / "digits_simclr.yaml", out / "digits-simclr",
                             ["train.epochs=10"] if q else [])
        down = load_spec(EX / "digits_probe.yaml", [f"model.init.from={ssl}"]
                         + (["train.epochs=30"] if q else []))
        res = compare_transfer(down, per_class=[1, 5, 10], seeds=seeds,
                               out=out / "digits-transfer")
        report.append(f"digits SimCLR pretraining: {took:.0f} CPU-s\n\n"
                      + label_table(res, "digits, 10 classes"))
    if "mnist1d" in only:
        # a) supervised pretraining on digits 0-4, transfer to 5-9
        src, took = pretrain(EX / "mnist1d_pretrain.yaml", out / "mnist1d-pretrain",
                             ["train.epochs=5"] if q else [])
        down = load_spec(EX / "mnist1d_finetune.yaml", [f"model.init.from={src}"]
                         + (["train.epochs=30"] if q else []))
        res = compare_transfer(down, per_class=[1, 5, 10], seeds=seeds,
                               out=out / "mnist1d-transfer-04")
        report.append(f"MNIST-1D supervised pretraining on 0-4: {took:.0f} CPU-s\n\n"
                      + label_table(res, "MNIST-1D, digits 5-9 (pretrained on 0-4)"))
        # b) SimCLR on every training sequence without labels, transfer to all ten classes
        ssl, took = pretrain(EX / "mnist1d_simclr.yaml", out / "mnist1d-simclr",
                             ["train.epochs=5"] if q else [])
        down = load_spec(EX / "mnist1d_finetune.yaml", [f"model.init.from={ssl}",
                                                        "data.classes=null"]
                         + (["train.epochs=30"] if q else []))
        res = compare_transfer(down, per_class=[1, 5, 10], seeds=seeds,
                               out=out / "mnist1d-transfer")
        report.append(f"MNIST-1D SimCLR pretraining: {took:.0f} CPU-s\n\n"
                      + label_table(res, "MNIST-1D, 10 classes (SimCLR, no labels)"))
    if "fewshot" in only:
        episodes = 100 if q else 600
        short = ["train.epochs=5"] if q else []
        rows = []
        for name, path, run in (("prototypical network on 0-4", EX / "digits_protonet.yaml",
                                 out / "digits-protonet"),
                                ("SimCLR on the images of 0-4 only (no labels)",
                                 EX / "digits_simclr_fewshot.yaml", out / "digits-simclr-04")):
            if not (run / "metrics.json").is_file():
                fit(load_spec(path, short), out=run, quiet=True)
            rows.append((name, [fewshot(run, episodes_n=episodes)]))
        # SimCLR on every training image (5-9's included, never a label), one encoder per seed,
        # then the same encoders fine-tuned episodically with the labels of 0-4 only
        ssl_runs, tuned = [], []
        for sd in seeds:
            ssl, _ = pretrain(EX / "digits_simclr.yaml",
                              out / ("digits-simclr" if sd == 0 else f"digits-simclr-s{sd}"),
                              [f"seed={sd}"] + (["train.epochs=10"] if q else []))
            ssl_runs.append(ssl)
            run = out / f"digits-simclr-protonet-s{sd}"
            if not (run / "metrics.json").is_file():
                fit(load_spec(EX / "digits_simclr_protonet.yaml",
                              [f"seed={sd}", f"model.init.from={ssl}"] + short),
                    out=run, quiet=True)
            tuned.append(run)
        rows.append((f"SimCLR on all training images (no labels), seeds {args.seeds}",
                     [fewshot(r, episodes_n=episodes) for r in ssl_runs]))
        rows.append(("  the same, centred on 0-4's mean (cl2n)",
                     [fewshot(r, episodes_n=episodes, normalize="cl2n", write=False)
                      for r in ssl_runs]))
        rows.append((f"  then prototypical fine-tuning on 0-4, seeds {args.seeds}",
                     [fewshot(r, episodes_n=episodes) for r in tuned]))
        report.append(f"digits few-shot on digits 5-9 (test split, {episodes} episodes, 15 "
                      "queries per class; mean ± 95% interval, and the range over seeds)\n\n"
                      + fewshot_table(rows))
    print("\n\n".join(report))
    print(f"\nwall {time.time() - t0:.0f} s, CPU {cpu_s():.0f} s (this process)")


if __name__ == "__main__":
    main()
