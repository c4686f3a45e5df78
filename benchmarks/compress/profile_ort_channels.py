"""Why a pruned 2-d conv net can be slower than the dense one in ONNX Runtime: channel counts
that do not fill its blocked (NCHWc) convolutions. Times the dense digits ResNet and pruned
copies (bench_compress.py's ``digits_resnet`` cases), each pruned model beside the dense one
(a pair timed alone), in PyTorch eager and in ONNX Runtime with
all graph optimizations (``ORT_ENABLE_ALL``: NCHWc layout, the default) and with basic ones
only (no layout change), then lists ONNX Runtime's own per-node times at the throughput batch.
1 thread, thread CPU time, interleaved runs, median.

  OMP_NUM_THREADS=1 chrt -f 10 .venv/bin/python benchmarks/compress/profile_ort_channels.py \\
      [DENSE PRUNED ...]
"""

from __future__ import annotations

import collections
import json
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "runs" / "bench-compress"
DEFAULT = [RUNS / "digits_resnet" / "start", RUNS / "digits_resnet" / "compress" / "01-prune",
           RUNS / "digits_resnet_r16" / "compress" / "01-prune"]


def session(model: nn.Module, example: torch.Tensor, level: str, profile: bool = False) -> object:
    import onnxruntime as ort

    from archopt.compress.onnxrt import export_float

    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
    opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    opts.enable_profiling = profile
    return ort.InferenceSession(export_float(model, example), opts,
                                providers=["CPUExecutionProvider"])


def per_node(model: nn.Module, example: torch.Tensor, x: object, runs: int = 20) -> list:
    """(op type, node name, microseconds per run) of ONNX Runtime's profile, slowest first."""
    s = session(model, example, "ORT_ENABLE_ALL", profile=True)
    for _ in range(runs):
        s.run(None, {"input": x})
    path = Path(s.end_profiling())
    total, calls = collections.defaultdict(float), collections.Counter()
    for e in json.loads(path.read_text()):
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            key = (e["args"].get("op_name"), e["name"].removesuffix("_kernel_time"))
            total[key] += e["dur"]
            calls[key] += 1
    path.unlink()
    return sorted(((k[0], k[1], total[k] / calls[k]) for k in total), key=lambda r: -r[2])


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine_info import describe

    from archopt.compress.measure import counts, interleaved_latency
    from archopt.compress.runs import load_run

    runs = [Path(a).resolve() for a in sys.argv[1:]] or DEFAULT
    print(describe())
    torch.set_num_threads(1)
    models, data = {}, None
    for run in runs:
        _, data, _, models[str(run.relative_to(RUNS)) if run.is_relative_to(RUNS) else str(run)] \
            = load_run(run)
    x1 = torch.randn(1, *data.shape.input_shape)
    dense = next(iter(models))
    print("\n| model | conv output channels | MACs | test accuracy |\n|---|---|---:|---:|")
    for k, m in models.items():
        widths = [c.out_channels for c in m.modules() if isinstance(c, nn.Conv1d | nn.Conv2d)]
        metrics = RUNS / k / "metrics.json" if (RUNS / k).is_dir() else Path(k, "metrics.json")
        acc = json.loads(metrics.read_text())["test"]["accuracy"]
        print(f"| {k} | {widths} | {counts(m, x1)['macs']:,} | {100 * acc:.1f} |")
    runtimes = ("PyTorch eager", "ORT_ENABLE_ALL", "ORT_ENABLE_BASIC")
    for b in (1, 256):
        x = torch.randn(b, *data.shape.input_shape)
        print(f"\n| batch {b}: model | runtime | dense ms | model ms | vs dense |\n"
              "|---|---|---:|---:|---:|")
        for k, m in list(models.items())[1:]:
            for rt in runtimes:  # each pair timed alone, interleaved (warm caches)
                pair = {}
                for role, model in (("dense", models[dense]), ("model", m)):
                    if rt == "PyTorch eager":
                        pair[role] = lambda model=model, x=x: model(x)
                    else:
                        s = session(model, x1, rt)
                        pair[role] = lambda s=s, x=x.numpy(): s.run(None, {"input": x})
                lat = interleaved_latency(pair, 200 if b == 1 else 30, warmup=10, clock="cpu")
                d, t = lat["dense"]["median"], lat["model"]["median"]
                print(f"| {k} | {rt} | {d:.3f} | {t:.3f} | {t / d:.2f}x |", flush=True)
    x = torch.randn(256, *data.shape.input_shape).numpy()
    for k, m in models.items():
        print(f"\n{k}: ONNX Runtime nodes at batch 256 (ORT_ENABLE_ALL), us per run")
        for op, name, us in per_node(m, x1, x)[:8]:
            print(f"  {op:<18} {name[-60:]:<60} {us:9.1f}")


if __name__ == "__main__":
    main()
