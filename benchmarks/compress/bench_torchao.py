"""torchao int8 with torch.compile (Inductor) against ONNX Runtime int8, on CPU.

The variants of one float model (the gallery MNIST-1D MLP's shape, and the gallery MNIST-1D
CNN's shape), each timed interleaved with the others (1 thread, median and quartiles):

- torch fp32, eager and ``torch.compile``d;
- torchao ``quantize_`` int8 dynamic (``Int8DynamicActivationInt8WeightConfig``) and int8
  weight-only (``Int8WeightOnlyConfig``), both ``torch.compile``d (Linear layers only);
- the pt2e flow: ``torch.export`` -> ``X86InductorQuantizer`` (static, calibrated; and dynamic)
  -> ``prepare_pt2e`` / ``convert_pt2e`` -> ``torch.compile``;
- ONNX Runtime fp32, int8 dynamic and int8 static (what ``archopt compress`` uses).

Compile time (first call) is printed beside each compiled variant.

  OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/compress/bench_torchao.py [mlp] [cnn]
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

warnings.filterwarnings("ignore")
torch._dynamo.config.recompile_limit = 64  # every variant shares the models' forward code
torch._dynamo.config.accumulated_recompile_limit = 1024
BATCHES = (1, 256)


def model_of(case: str) -> tuple[torch.nn.Module, Any]:
    from archopt.data import DataShape
    from archopt.models import build_model

    if case == "mlp":
        shape = DataShape(kind="tabular", task="classification", input_shape=(40,),
                          num_outputs=10)
        cfg = {"name": "mlp", "hidden": [512, 512], "norm": "batch"}
    else:
        shape = DataShape(kind="sequence", task="classification", input_shape=(40, 1),
                          num_outputs=10)
        cfg = {"name": "cnn", "channels": [64, 64, 64], "kernel_sizes": [5, 3, 3],
               "norm": "batch", "pool": "max", "global_pool": True}
    return build_model(cfg, shape, seed=0).eval(), shape


def compiled(model: torch.nn.Module, xs: list[torch.Tensor]) -> tuple[Callable, float]:
    """``torch.compile``d model (static shapes, one graph per measured batch size) and its
    compile time (the first call at each batch size), in seconds."""
    fn = torch.compile(model, dynamic=False)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for x in xs:
            fn(x)
    return fn, time.perf_counter() - t0


def pt2e(model: torch.nn.Module, x: torch.Tensor, calib: list[torch.Tensor], dynamic: bool
         ) -> torch.nn.Module:
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as xiq
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = xiq.X86InductorQuantizer()
    quantizer.set_global(xiq.get_default_x86_inductor_quantization_config(is_dynamic=dynamic))
    gm = torch.export.export(copy.deepcopy(model), (x,)).module()
    gm = prepare_pt2e(gm, quantizer)
    for b in calib:
        gm(b)
    return convert_pt2e(gm)


def variants(case: str) -> tuple[dict[str, Callable], dict[str, float], Any]:
    from torchao.quantization import (
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        quantize_,
    )

    from archopt.compress.quantize import export_float, quantize_onnx
    from archopt.models.onnx_model import OnnxModel

    model, shape = model_of(case)
    x = torch.randn(2, *shape.input_shape)
    calib = [torch.randn(64, *shape.input_shape) for _ in range(4)]
    out: dict[str, Callable] = {"torch fp32 (eager)": model}
    compile_s: dict[str, float] = {}

    def add(label: str, m: torch.nn.Module) -> None:
        try:
            out[label], compile_s[label] = compiled(m, [torch.randn(b, *shape.input_shape)
                                                        for b in BATCHES])
        except Exception as err:  # noqa: BLE001 - a variant that does not build is reported
            print(f"{label}: failed ({type(err).__name__}: {str(err).splitlines()[0][:120]})")

    add("torch fp32 (compile)", copy.deepcopy(model))
    for label, cfg in (("torchao int8 dynamic quantize_ (compile)",
                        Int8DynamicActivationInt8WeightConfig()),
                       ("torchao int8 weight-only quantize_ (compile)", Int8WeightOnlyConfig())):
        q = copy.deepcopy(model)
        quantize_(q, cfg)
        add(label, q)
    import torchao.quantization.pt2e.inductor_passes.x86  # noqa: F401 - registers the lowering

    with torch.no_grad():
        add("pt2e X86InductorQuantizer static (compile)", pt2e(model, x, calib, False))
        if case == "mlp":
            add("pt2e X86InductorQuantizer dynamic (compile)", pt2e(model, x, calib, True))
    fp32 = export_float(model, x[:1])
    out["onnxruntime fp32"] = OnnxModel(fp32, 1)
    out["onnxruntime int8 dynamic"] = OnnxModel(quantize_onnx(fp32, "dynamic"), 1)
    out["onnxruntime int8 static"] = OnnxModel(
        quantize_onnx(fp32, "static", [c.numpy() for c in calib]), 1)
    return out, compile_s, shape


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine_info import describe

    from archopt.compress.measure import interleaved_latency, threads

    print(describe())
    with threads(1):
        for case in sys.argv[1:] or ["mlp", "cnn"]:
            fns, compile_s, shape = variants(case)
            print(f"\n## {case}\n| variant | batch | median ms | quartiles | vs torch eager "
                  "| compile s |\n|---|---|---|---|---|---|")
            for b in BATCHES:
                x = torch.randn(b, *shape.input_shape)
                lat = interleaved_latency({k: (lambda f=f, x=x: f(x)) for k, f in fns.items()},
                                          50 if b == 1 else 15, clock="cpu")
                base = lat["torch fp32 (eager)"]["median"]
                for k, v in lat.items():
                    c = f"{compile_s[k]:.0f}" if k in compile_s else "-"
                    print(f"| {k} | {b} | {v['median']:.3f} | {v['q1']:.3f}-{v['q3']:.3f} | "
                          f"{v['median'] / base:.2f}x | {c} |", flush=True)


if __name__ == "__main__":
    main()
