"""ONNX Runtime vs PyTorch eager: latency at batch 1 and 256 for each gallery model, with the
parity figures of its exported artifact.

  .venv/bin/python benchmarks/serve/latency.py            # every examples/gallery spec
  .venv/bin/python benchmarks/serve/latency.py --only mnist1d_cnn digits_cnn --repeats 30

Models are built from the gallery specs with seeded, untrained weights (latency does not depend
on the weight values); inputs are the dataset's raw test examples. Both runtimes get one thread
(the machine is shared), and their timings are interleaved repeat by repeat; medians and the
spread (25th-75th percentile) are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from machine import cpu_model  # noqa: E402

import archopt  # noqa: E402
from archopt.data import load_data  # noqa: E402
from archopt.data.load import build_raw  # noqa: E402
from archopt.export import formats  # noqa: E402
from archopt.export.export import write_artifact  # noqa: E402
from archopt.export.wrapper import RawInputModel  # noqa: E402

SKIP = {"digits_optimizers", "mnist1d_optimizers", "mnist1d_regularization"}  # same models


def quartiles(v: list[float]) -> tuple[float, float, float]:
    q = np.percentile(v, [25, 50, 75])
    return float(q[0]), float(q[1]), float(q[2])


def bench(spec_path: Path, repeats: int) -> dict:
    spec = archopt.load_spec(spec_path)
    data = load_data(spec.data, spec.seed)
    model = archopt.build_model(spec.model, data.shape, seed=spec.seed).eval()
    raw = build_raw(spec.data).test
    wrapper = RawInputModel(model, data.shape, data.normalization)
    if wrapper.task == "generation":
        x = torch.randn(256, model.latent_dim, generator=torch.Generator().manual_seed(0))
        x = x.numpy()
    else:
        x = raw.x.float().numpy()
        x = np.concatenate([x] * (256 // len(x) + 1))[:256]
    lengths = None
    if wrapper.variable_length:
        lengths = np.full(len(x), x.shape[1], dtype=np.int64)
    labels = raw.y.numpy() if wrapper.task == "classification" else None
    # parity on the whole raw test split (seeded latent codes for a generator)
    px = x if wrapper.task == "generation" else raw.x.float().numpy()
    plengths = None if lengths is None else np.full(len(px), px.shape[1], dtype=np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _, exporter, parity = write_artifact(model, data.shape, data.normalization, "onnx",
                                             Path(tmp), px, plengths, labels)
        export_s = time.perf_counter() - t0
        names = formats.input_names(wrapper.variable_length, wrapper.task)
        ort_run = formats.open_runner("onnx", Path(tmp) / "model.onnx", names, threads=1)
        torch_run = formats.torch_runner(wrapper)
        out = {"model": spec_path.stem, "task": wrapper.task, "exporter": exporter["exporter"],
               "export_s": export_s, "max_abs_diff": parity["max_abs_diff"],
               "classes_identical": parity.get("classes_identical")}
        for batch in (1, 256):
            xb = x[:batch]
            lb = None if lengths is None else lengths[:batch]
            for _ in range(3):  # warm-up
                ort_run(xb, lb)
                torch_run(xb, lb)
            t_ort, t_torch = [], []
            for _ in range(repeats):  # interleaved
                t = time.perf_counter()
                ort_run(xb, lb)
                t_ort.append(time.perf_counter() - t)
                t = time.perf_counter()
                torch_run(xb, lb)
                t_torch.append(time.perf_counter() - t)
            ratios = [a / b for a, b in zip(t_ort, t_torch)]
            out[f"ort_{batch}"] = quartiles(t_ort)
            out[f"torch_{batch}"] = quartiles(t_torch)
            out[f"ratio_{batch}"] = quartiles(ratios)
        return out


def ms(q: tuple[float, float, float]) -> str:
    return f"{q[1] * 1e3:.3f} ({q[0] * 1e3:.3f}-{q[2] * 1e3:.3f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="*", help="gallery spec names (default: all)")
    p.add_argument("--repeats", type=int, default=50)
    args = p.parse_args()
    torch.set_num_threads(1)
    specs = sorted((ROOT / "examples" / "gallery").glob("*.yaml"))
    specs = [s for s in specs if (s.stem in args.only if args.only else s.stem not in SKIP)]
    print(f"machine: {cpu_model()}, torch {torch.__version__}, 1 thread each, "
          f"{args.repeats} interleaved repeats; medians (25th-75th percentile)\n")
    print("| model | task | exporter | max abs diff | same classes | ORT ms b1 | eager ms b1 | "
          "ratio b1 | ORT ms b256 | eager ms b256 | ratio b256 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for s in specs:
        r = bench(s, args.repeats)
        same = {True: "yes", False: "NO", None: "-"}[r["classes_identical"]]
        print(f"| {r['model']} | {r['task']} | {r['exporter']} | {r['max_abs_diff']:.1e} | "
              f"{same} | {ms(r['ort_1'])} | {ms(r['torch_1'])} | {r['ratio_1'][1]:.2f}x | "
              f"{ms(r['ort_256'])} | {ms(r['torch_256'])} | {r['ratio_256'][1]:.2f}x |",
              flush=True)


if __name__ == "__main__":
    main()
