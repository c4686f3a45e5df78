"""Why structured pruning to half the MACs gives less than half the time at batch 1: the dense
and the pruned MNIST-1D CNN (bench_compress.py's ``cnn`` case), per operator and per runtime.

Prints (1 thread, thread CPU time, median of interleaved runs):
- PyTorch's profiler: self CPU time per operator at batch 1, dense vs pruned;
- ratios of pairs, each pair timed alone (interleaved, warm caches): the dense and the pruned
  model in PyTorch eager, the same with batch norm folded into the convolutions, with
  ``torch.compile`` (Inductor, compiled per batch size before timing), in ONNX Runtime (fp32),
  channel counts rounded to multiples of 8
  and 16 (pruned from the dense model at the ratio that gives them, not fine-tuned: timing only),
  and a CNN of the same layers with one channel each (almost no arithmetic: what the operators
  cost by themselves, the floor no pruning goes below).

  OMP_NUM_THREADS=1 chrt -f 10 .venv/bin/python benchmarks/compress/profile_pruned.py [DENSE PRUNED]
"""

from __future__ import annotations

import copy
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parents[2]
DENSE = ROOT / "runs" / "bench-compress" / "cnn" / "start"
PRUNED = ROOT / "runs" / "bench-compress" / "cnn" / "compress" / "01-prune"


def fold_bn(model: nn.Module) -> nn.Module:
    """A copy with every conv -> batch norm pair folded into one convolution (eval mode)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model = copy.deepcopy(model)
    for mod in model.modules():
        if isinstance(mod, nn.Sequential) and len(mod) > 1:
            for i in range(len(mod) - 1):
                if isinstance(mod[i], nn.Conv1d | nn.Conv2d) and isinstance(
                        mod[i + 1], nn.BatchNorm1d | nn.BatchNorm2d):
                    mod[i] = fuse_conv_bn_eval(mod[i], mod[i + 1])
                    mod[i + 1] = nn.Identity()
    return model


def per_op(model: nn.Module, x: torch.Tensor, runs: int = 200) -> dict[str, float]:
    """Self CPU microseconds per call of the model, by operator."""
    from torch.profiler import ProfilerActivity, profile

    with torch.inference_mode():
        for _ in range(20):
            model(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                model(x)
    return {e.key: e.self_cpu_time_total / runs for e in prof.key_averages()}


def rounded(dense: nn.Module, x: torch.Tensor, ratio: float, to: int) -> nn.Module:
    from archopt.compress.prune import ignored_layers, prune_once

    m = copy.deepcopy(dense)
    cfg = type("Cfg", (), {"importance": "l1", "global_pruning": False, "round_to": to})()
    prune_once(m, x, ratio, cfg, ignored_layers(m, [], 10, "profile"))
    return m.eval()


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine_info import describe

    from archopt.compress.measure import counts, interleaved_latency, threads
    from archopt.compress.onnxrt import onnxruntime_fp32
    from archopt.compress.runs import load_run
    from archopt.models import build_model

    dense_dir, pruned_dir = (Path(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 \
        else (DENSE, PRUNED)
    print(describe())
    torch.set_num_threads(1)
    _, data, _, dense = load_run(dense_dir)
    _, _, _, pruned = load_run(pruned_dir)
    shape = data.shape
    x1 = torch.randn(1, *shape.input_shape)
    spec = load_run(dense_dir)[0]
    one = {**spec.model.model_dump(exclude_none=True), "channels": [1] * len(spec.model.channels)}
    tiny = build_model(one, shape, seed=0).eval()
    widths = [m.out_channels for m in pruned.modules() if isinstance(m, nn.Conv1d)]
    print(f"\ndense {counts(dense, x1)}, pruned {counts(pruned, x1)}, pruned widths {widths}")

    print("\n| operator (batch 1) | dense us/call | pruned us/call |\n|---|---|---|")
    d, p = per_op(dense, x1), per_op(pruned, x1)
    for k in sorted(d, key=lambda k: -d[k])[:10]:
        print(f"| {k} | {d[k]:.1f} | {p.get(k, 0.0):.1f} |")
    print(f"| total | {sum(d.values()):.1f} | {sum(p.values()):.1f} |")

    rounded8 = rounded(dense, x1.repeat(2, 1, 1), 0.25, 8)
    rounded16 = rounded(dense, x1.repeat(2, 1, 1), 0.5, 16)
    fd, fp, ft = fold_bn(dense), fold_bn(pruned), fold_bn(tiny)
    cd, cp = (torch.compile(m, dynamic=False) for m in (dense, pruned))
    cfd, cfp = (torch.compile(m, dynamic=False) for m in (fd, fp))
    od, op, ot = (onnxruntime_fp32(m, x1, 1) for m in (dense, pruned, tiny))
    # (label, reference, model): each pair is timed alone, interleaved, so that the two models
    # share a warm cache (a model timed among many others finds its weights evicted, which
    # costs the larger dense model more: an apparent speed-up no serving loop would see)
    pairs = [("pruned vs dense (eager)", dense, pruned),
             ("1 channel per layer vs dense (the overhead floor)", dense, tiny),
             ("pruned to 48 channels (round_to 8) vs dense", dense, rounded8),
             ("pruned to 32 channels (round_to 16) vs dense", dense, rounded16),
             ("dense, BN folded vs dense", dense, fd),
             ("BN folded: pruned vs dense", fd, fp),
             ("BN folded: 1 channel vs dense (floor)", fd, ft),
             ("dense, torch.compile vs dense", dense, cd),
             ("torch.compile: pruned vs dense", cd, cp),
             ("BN folded + torch.compile: pruned vs dense", cfd, cfp),
             ("dense, ONNX Runtime vs dense eager", dense, od),
             ("ONNX Runtime: pruned vs dense", od, op),
             ("ONNX Runtime: 1 channel vs dense (floor)", od, ot)]
    with threads(1):
        for b in (1, 256):
            x = torch.randn(b, *shape.input_shape)
            with torch.inference_mode():
                for m in (cd, cp, cfd, cfp):  # compile (Inductor, static shapes) before timing
                    m(x)
            print(f"\n| batch {b}: pair | reference ms | model ms | ratio |\n|---|---:|---:|---:|")
            for label, ref, model in pairs:
                lat = interleaved_latency({"ref": lambda m=ref, x=x: m(x),
                                           "model": lambda m=model, x=x: m(x)},
                                          300 if b == 1 else 20, warmup=20, clock="cpu")
                r, m = lat["ref"]["median"], lat["model"]["median"]
                print(f"| {label} | {r:.4f} | {m:.4f} | {m / r:.2f}x |", flush=True)
            crowd = {"dense": dense, "pruned": pruned, "dense ORT": od, "pruned ORT": op,
                     "dense folded": fd, "pruned folded": fp, "1 channel": tiny}
            lat = interleaved_latency({k: (lambda m=m, x=x: m(x)) for k, m in crowd.items()},
                                      300 if b == 1 else 20, warmup=20, clock="cpu")
            print(f"| pruned vs dense, timed among {len(crowd)} models (cold caches) | "
                  f"{lat['dense']['median']:.4f} | {lat['pruned']['median']:.4f} | "
                  f"{lat['pruned']['median'] / lat['dense']['median']:.2f}x |")


if __name__ == "__main__":
    main()
