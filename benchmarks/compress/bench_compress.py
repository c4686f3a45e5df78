"""The compression targets of issue #11, measured: each case trains its start model (fewer epochs
than the gallery: the machine is shared), runs `archopt.compress`, and prints one table row per
step with the figures from its report.json. Latency: 1 thread, CPU time, median of interleaved
runs.

  .venv/bin/python benchmarks/compress/bench_compress.py                 # every case
  .venv/bin/python benchmarks/compress/bench_compress.py cnn mlp torchao  # some of them

Cases: cnn, resnet, digits_resnet (structured pruning to half the MACs, then int8 and QAT on
the CNN), digits_resnet_r16 (the digits ResNet with round_to 16, for ONNX Runtime's NCHWc
convolutions, and Taylor importance), qat (PTQ vs QAT on the dense CNN only), mlp, gru, lstm
(dynamic int8; gru40 and lstm40 trained for the gallery's 40 epochs), distill (digits ResNet ->
small MLP, and the MLP alone), sweep (ratios 0.2-0.8, l1 vs random), torchao (torchao eager int8
vs ONNX Runtime, MLP; with torch.compile: bench_torchao.py).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "runs" / "bench-compress"
GALLERY = ROOT / "examples" / "gallery"


def gallery(name: str, epochs: int) -> dict[str, Any]:
    spec = yaml.safe_load((GALLERY / name).read_text())
    spec["train"]["epochs"] = epochs
    spec["name"] = f"bench-{Path(name).stem}"
    return spec


def train(spec: dict[str, Any], name: str) -> Path:
    import archopt

    run = OUT / name / "start"
    if (run / "metrics.json").is_file():
        return run
    if (run / "checkpoints" / "last.pt").is_file():  # killed earlier: resume
        archopt.fit(archopt.load_spec(spec), resume=run, quiet=True)
    else:
        archopt.fit(archopt.load_spec(spec), out=run, quiet=True)
    return run


def macs_of(run: Path) -> int:
    from archopt.compress.measure import counts
    from archopt.compress.pipeline import load_run
    from archopt.report.profile import example_input

    spec, data, state, model = load_run(run)
    return counts(model, example_input(model, data.shape, 1))["macs"]


def compress(spec: dict[str, Any], run: Path, name: str, steps: list, **extra: Any) -> dict:
    import archopt

    out = OUT / name / "compress"
    spec = {**spec, "compress": {"threads": 1, "repeats": 30, "steps": steps, **extra}}
    if (out / "report.json").is_file():
        return json.loads((out / "report.json").read_text())
    if out.exists():
        return archopt.compress(spec, resume=out, quiet=True)
    return archopt.compress(spec, source=run, out=out, quiet=True)


def row(case: str, s: dict[str, Any]) -> str:
    b, a, r = s["before"], s["after"], s["ratios"]
    ort = s.get("others", {}).get("onnxruntime_fp32")
    extra = ""
    if ort:
        la, lo = a["latency_ms"], ort["latency_ms"]
        extra = (f" int8/ORT-fp32: b1 {la['batch_1'] / lo['batch_1']:.2f}x,"
                 f" bN {la['batch_N'] / lo['batch_N']:.2f}x")
    if "onnxruntime_latency_batch_1" in r:  # pruning: the same two models in ONNX Runtime
        extra = (f" in ONNX Runtime: b1 {r['onnxruntime_latency_batch_1']:.2f}x,"
                 f" bN {r['onnxruntime_latency_batch_N']:.2f}x")
    return (f"| {case} | {s['step']['name']} | {b['macs']:,} -> {a['macs']:,} ({r['macs']:.2f}x) "
            f"| {r['params']:.2f}x | {r['size_bytes']:.2f}x | {r['latency_batch_1']:.2f}x "
            f"| {r['latency_batch_N']:.2f}x | {100 * b['metric_value']:.1f} -> "
            f"{100 * a['metric_value']:.1f} ({100 * r['metric_change']:+.1f}) |{extra}")


def prune_case(case: str, file: str, epochs: int, ft: int, start: str | None = None,
               **prune: Any) -> list[str]:
    """Prune ``start``'s run (default: the case's own) to half its MACs, fine-tune ``ft``
    epochs; ``prune``: more fields of the prune step (round_to, importance)."""
    spec = gallery(file, epochs)
    run = train(spec, start or case)
    half = macs_of(run) / 2
    steps = [{"name": "prune", "target": {"macs": half}, "finetune": {"epochs": ft}, **prune}]
    if case == "cnn":
        steps += [{"name": "quantize", "method": "static"}]
    report = compress(spec, run, case, steps)
    rows = [row(case, s) for s in report["steps"]]
    if case == "cnn":  # PTQ and QAT of the dense CNN, side by side
        q = compress(spec, run, "cnn-ptq", [{"name": "quantize", "method": "static"}])
        rows.append(row("cnn (dense)", q["steps"][0]))
        qat = compress(spec, run, "cnn-qat", [{"name": "qat", "method": "static",
                                               "finetune": {"epochs": 3, "lr": 0.0005}}])
        rows.append(row("cnn (dense)", qat["steps"][0]))
    return rows


def qat_case() -> list[str]:
    """Static int8 of the dense CNN, post-training (PTQ) and after 3 epochs of QAT."""
    spec = gallery("mnist1d_cnn.yaml", 30)
    run = train(spec, "cnn")
    q = compress(spec, run, "cnn-ptq", [{"name": "quantize", "method": "static"}])
    qat = compress(spec, run, "cnn-qat", [{"name": "qat", "method": "static",
                                           "finetune": {"epochs": 3, "lr": 0.0005}}])
    return [row("cnn PTQ", q["steps"][0]), row("cnn QAT", qat["steps"][0])]


def int8_case(case: str, file: str, epochs: int) -> list[str]:
    spec = gallery(file, epochs)
    run = train(spec, case)
    report = compress(spec, run, case, [{"name": "quantize", "method": "dynamic"}])
    return [row(case, s) for s in report["steps"]]


def distill_case() -> list[str]:
    """The example's configuration (examples/compress/digits_distill.yaml: T 2, alpha 0.5, the
    hint loss, 200 epochs) over bench_distill.py's seeds, beside the student alone."""
    import statistics

    import bench_distill as bd

    teacher = gallery("digits_resnet.yaml", 30)
    train(teacher, "distill")  # bench_distill's teacher
    t_acc = bd.accuracy(bd.TEACHER)
    student = bd.STUDENTS["mlp[64]"]
    a_acc = statistics.mean(bd.alone(student, 200, "mlp[64]", s) for s in bd.SEEDS)
    d_acc = statistics.mean(bd.distilled(student, 200, 2.0, 0.5, 1.0, "mlp[64]", s)
                            for s in bd.SEEDS)
    closed = (d_acc - a_acc) / (t_acc - a_acc) if t_acc > a_acc else float("nan")
    return [f"| distill mlp[64], T 2, alpha 0.5, hint, 200 epochs, {len(bd.SEEDS)} seeds | "
            f"teacher {100 * t_acc:.1f} | alone {100 * a_acc:.1f} | distilled {100 * d_acc:.1f} "
            f"| gap closed {100 * closed:.0f}% |"]


def sweep_case() -> list[str]:
    spec = gallery("mnist1d_cnn.yaml", 30)
    run = train(spec, "cnn")
    report = compress(spec, run, "sweep", [{"name": "prune", "ratio": 0.5}],
                      sweep=[0.2, 0.4, 0.6, 0.8])
    out = []
    for p in report["sweep"]:
        ort = [p.get(f"onnxruntime_latency_ratio_batch_{b}") for b in ("1", "N")]
        ort_s = " | ".join("-" if v is None else f"{v:.2f}x" for v in ort)
        out.append(f"| {p['importance']} | {p['ratio']} | {p['params']:,} | {p['macs']:,} | "
                   f"{p['size_ratio']:.2f}x | {p['latency_ratio_batch_1']:.2f}x | "
                   f"{p['latency_ratio_batch_N']:.2f}x | {ort_s} | "
                   f"{100 * p['metric_value']:.1f} |")
    return out


def torchao_case() -> list[str]:
    """torchao's eager int8 against fp32 and ONNX Runtime int8, on the gallery MLP's shape."""
    import copy
    import warnings

    import torch

    from archopt.compress.measure import interleaved_latency, threads
    from archopt.compress.quantize import OnnxModel, export_float, quantize_onnx
    from archopt.data import DataShape
    from archopt.models import build_model

    warnings.filterwarnings("ignore")
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        quantize_,
    )

    shape = DataShape(kind="tabular", task="classification", input_shape=(40,), num_outputs=10)
    model = build_model({"name": "mlp", "hidden": [512, 512], "norm": "batch"}, shape, seed=0)
    model.eval()
    variants = {"torch fp32": model}
    for label, cfg in (("torchao int8 dynamic (eager)", Int8DynamicActivationInt8WeightConfig()),
                       ("torchao int8 weight-only (eager)", Int8WeightOnlyConfig())):
        q = copy.deepcopy(model)
        quantize_(q, cfg)
        variants[label] = q
    fp32 = export_float(model, torch.randn(1, 40))
    variants["onnxruntime fp32"] = OnnxModel(fp32, 1)
    variants["onnxruntime int8 dynamic"] = OnnxModel(quantize_onnx(fp32, "dynamic"), 1)
    rows = []
    with threads(1):
        for b in (1, 256):
            x = torch.randn(b, 40)
            lat = interleaved_latency({k: (lambda m=m, x=x: m(x)) for k, m in variants.items()},
                                      30, clock="cpu")
            base = lat["torch fp32"]["median"]
            for k, v in lat.items():
                rows.append(f"| {k} | {b} | {v['median']:.3f} | {v['median'] / base:.2f}x |")
    return rows


CASES = {
    "cnn": lambda: prune_case("cnn", "mnist1d_cnn.yaml", 30, 10),
    "resnet": lambda: prune_case("resnet", "mnist1d_resnet.yaml", 20, 8),
    "digits_resnet": lambda: prune_case("digits_resnet", "digits_resnet.yaml", 30, 10),
    "digits_resnet_r16": lambda: prune_case("digits_resnet_r16", "digits_resnet.yaml", 30, 10,
                                            start="digits_resnet", round_to=16,
                                            importance="taylor"),
    "qat": qat_case,
    "mlp": lambda: int8_case("mlp", "mnist1d_mlp.yaml", 30),
    "gru": lambda: int8_case("gru", "mnist1d_gru.yaml", 15),
    "lstm": lambda: int8_case("lstm", "mnist1d_lstm.yaml", 15),
    "gru40": lambda: int8_case("gru40", "mnist1d_gru.yaml", 40),    # the gallery's own epochs
    "lstm40": lambda: int8_case("lstm40", "mnist1d_lstm.yaml", 40),
    "distill": distill_case,
    "sweep": sweep_case,
    "torchao": torchao_case,
}


def main() -> None:
    from machine_info import describe

    names = sys.argv[1:] or list(CASES)
    print(describe())
    for name in names:
        start = time.perf_counter()
        rows = CASES[name]()
        print(f"\n## {name} ({time.perf_counter() - start:.0f} s)")
        print("\n".join(rows), flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
