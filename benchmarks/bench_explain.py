"""Time per explanation: archopt's methods against Captum called directly on the same model, and
the deletion-curve area of each method against random orders.

    .venv/bin/python benchmarks/bench_explain.py [--runs DIR] [--repeats 9] [--write]

Four gallery models are trained once into ``--runs`` (default benchmarks/out/explain-runs, shorter
than the gallery's own schedule): the digits CNN, the MNIST-1D LSTM (attention pooling), the
wine MLP and the MNIST-1D transformer (attention rollout). For each method, 4 test examples are
explained by ``archopt.explain.methods.run_method`` (raw inputs, the normalization inside the
explained function, padding masked) and by the code a user writes with Captum on the trained
module and normalized inputs, with the same settings (integrated gradients 50 steps, Kernel
SHAP and LIME 1,000 samples, ...). The two sides alternate and take turns to go first; each
sample is the CPU time (one thread) of as many calls in a row as take about 50 ms; the table
gives medians and the ratio's quartiles and range.
``--write`` replaces this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
SECTION = "## Explanations (benchmarks/bench_explain.py)"
MODELS = {
    "CNN (digits)": ("examples/gallery/digits_cnn.yaml", ["train.epochs=15"]),
    "LSTM (mnist1d)": ("examples/gallery/mnist1d_lstm.yaml", ["train.epochs=12"]),
    "MLP (wine)": ("examples/gallery/wine_mlp.yaml", []),
    "Transformer (mnist1d)": ("examples/gallery/mnist1d_transformer.yaml", ["train.epochs=20"]),
}
SAMPLES = 1000   # Kernel SHAP and LIME
STEPS = 50       # integrated gradients
NO_REUSE = "integrated_gradients, f(x) run again for the check"
NO_CHECK = "integrated_gradients without its completeness check"
SAMPLE_S = 0.05  # CPU seconds per timed sample (at least one call)


def train(folder: Path) -> dict[str, Path]:
    """The three runs, trained once (kept between invocations)."""
    import archopt

    runs = {}
    for name, (spec, overrides) in MODELS.items():
        out = folder / Path(spec).stem
        if not (out / "metrics.json").is_file():
            print(f"training {name} ...", flush=True)
            archopt.fit(archopt.load_spec(ROOT / spec, overrides=overrides), out=out,
                        quiet=True)
        runs[name] = out
    return runs


def direct(name: str, model: torch.nn.Module, xn: torch.Tensor, target: torch.Tensor,
           refs_n: torch.Tensor, ctx: object) -> torch.Tensor:
    """What a user writes with Captum: the trained module on normalized inputs."""
    import torch.nn.functional as F
    from captum.attr import (
        GradientShap,
        IntegratedGradients,
        KernelShap,
        LayerAttribution,
        LayerGradCam,
        Lime,
        Occlusion,
        Saliency,
    )

    from archopt.explain import groups, methods

    kind, shape = ctx.kind, ctx.input_shape
    zeros = torch.zeros_like(xn)  # the training mean, normalized
    if name == "integrated_gradients":
        return IntegratedGradients(model).attribute(
            xn, baselines=zeros, target=target, n_steps=STEPS,
            internal_batch_size=ctx.chunk)
    if name == "saliency":
        return Saliency(model).attribute(xn, target=target, abs=True)
    if name == "gradient_shap":
        torch.manual_seed(0)
        return GradientShap(model).attribute(xn, baselines=refs_n, n_samples=ctx.shap_samples,
                                             stdevs=0.0, target=target)
    if name in ("kernel_shap", "lime"):
        cls = KernelShap if name == "kernel_shap" else Lime
        mask = groups.feature_mask(kind, shape)
        m = cls(model)
        return torch.cat([m.attribute(xn[i:i + 1], baselines=zeros[:1], target=target[i:i + 1],
                                      feature_mask=mask, n_samples=SAMPLES,
                                      perturbations_per_eval=64) for i in range(len(xn))])
    if name == "occlusion":
        window, strides = groups.occlusion_window(kind, shape)
        return Occlusion(model).attribute(xn, sliding_window_shapes=window, strides=strides,
                                          baselines=zeros, target=target,
                                          perturbations_per_eval=16)
    if name == "grad_cam":
        _, layer = methods.target_layer(model, None)
        cam = LayerGradCam(model, layer).attribute(xn, target=target, relu_attributions=True)
        if cam.ndim == 4:
            return LayerAttribution.interpolate(cam, xn.shape[2:], "bilinear")
        return F.interpolate(cam, size=xn.shape[1], mode="linear")
    raise KeyError(name)


def time_pair(name: str, subject: object, ctx: object, x: torch.Tensor, tgt: torch.Tensor,
              repeats: int, outputs: torch.Tensor | None = None) -> dict[str, float]:
    """Interleaved CPU-time measurements of archopt and direct Captum: each sample times
    ``calls`` calls in a row (as many as take about ``SAMPLE_S``, so that calls of a
    millisecond are not lost in the clock's and the machine's noise), the two sides alternate
    and take turns going first; the first pair warms up."""
    from archopt.explain.methods import run_method

    raw = subject.model.raw
    model = raw.model
    xn = raw._normalize(x, None).detach()
    refs_n = raw._normalize(subject.references, None).detach()
    sides = {"archopt": lambda: run_method(name, ctx, x, tgt, None, outputs)}
    if name != "attention":  # no Captum method to compare with
        sides["captum"] = lambda: direct(name, model, xn, tgt, refs_n, ctx)
    sides["archopt"]()  # warm: the first call builds what later ones reuse
    t = time.process_time()
    sides["archopt"]()
    calls = max(1, math.ceil(SAMPLE_S / max(time.process_time() - t, 1e-6)))
    got: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(repeats + 1):
        for side in (list(sides) if i % 2 else list(sides)[::-1]):
            t = time.process_time()
            for _ in range(calls):
                sides[side]()
            if i:
                got[side].append((time.process_time() - t) / calls)
    ours = got["archopt"]
    if "captum" not in got:
        return {"archopt_s": statistics.median(ours), "captum_s": float("nan"), "calls": calls,
                "ratio": float("nan"), "ratio_min": float("nan"), "ratio_max": float("nan")}
    ratios = sorted(a / b for a, b in zip(ours, got["captum"]))
    q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {"archopt_s": statistics.median(ours), "captum_s": statistics.median(got["captum"]),
            "calls": calls, "ratio": statistics.median(ratios), "ratio_min": ratios[0],
            "ratio_max": ratios[-1], "ratio_q1": q[0], "ratio_q3": q[2]}


def measure(runs: dict[str, Path], repeats: int, out: Path) -> dict[str, dict]:
    import archopt
    from archopt.explain import select
    from archopt.explain.methods import Context, internal_batch
    from archopt.explain.subject import load_subject

    results = {}
    for label, run in runs.items():
        subject = load_subject(run)
        names = select.methods(None, subject)
        x = subject.x[:4]
        # the predictions that choose the targets: both sides need them; archopt's
        # integrated gradients reuses them as f(x) for its completeness check
        tgt, _, outputs = select.targets(subject, "predicted", x, subject.y[:4], None)
        ctx = Context(subject.model, subject.kind, tuple(subject.shape.input_shape),
                      subject.baseline, subject.references, samples=SAMPLES,
                      fixed_steps=STEPS)
        ctx.chunk = internal_batch(ctx)  # as archopt.explain does: once per run
        times = {}
        for name in names:
            times[name] = time_pair(name, subject, ctx, x, tgt, repeats, outputs)
            print(f"{label} {name}: {times[name]}", flush=True)
            if name == "integrated_gradients":  # what its completeness check costs
                times[NO_REUSE] = time_pair(name, subject, ctx, x, tgt, repeats)
                off = dataclasses.replace(ctx, completeness=False)
                times[NO_CHECK] = time_pair(name, subject, off, x, tgt, repeats)
                for row in (NO_REUSE, NO_CHECK):
                    print(f"{label} {row}: {times[row]}", flush=True)
        full = archopt.explain(run, examples=8, samples=256, out=out / run.name,
                               plots=False)
        results[label] = {"times": times, "explain": full,
                          "test_accuracy": archopt_accuracy(run)}
    return results


def archopt_accuracy(run: Path) -> float:
    import json

    return json.loads((run / "metrics.json").read_text())["test"]["accuracy"]


def table(results: dict[str, dict], repeats: int, load: tuple[float, float]) -> str:
    from machine import cpu_model

    lines = [SECTION, "",
             f"`.venv/bin/python benchmarks/bench_explain.py --repeats {repeats}` on "
             f"{cpu_model()}, {os.cpu_count()} cores, one torch thread; load average "
             f"{load[0]:.1f} at the start, {load[1]:.1f} at the end (a shared machine: the "
             "ratios come from alternating calls, so both sides saw the same load).", "",
             "Time per call on 4 test examples (CPU seconds, median of "
             f"{repeats} interleaved samples, each the mean of as many calls in a row as take "
             f"about {SAMPLE_S} s, the two sides alternating and taking turns to go first); "
             "archopt's call is `archopt.explain.methods.run_method` (raw inputs, "
             "normalization inside the explained function), Captum's is the same method on the "
             "trained module and normalized inputs with the same settings: integrated "
             f"gradients {STEPS} steps, Kernel SHAP and LIME {SAMPLES} samples per example, "
             "gradient SHAP 16 samples, occlusion with the same windows. archopt's integrated "
             "gradients always measures its completeness (one forward of the examples without "
             "gradients), which a bare Captum call does not: `archopt explain` reuses the outputs "
             "it ran to choose the targets (which a direct caller runs too, outside the timed "
             "call on both sides) and f(baseline) once per model; the next two rows show the "
             "check with f(x) run again inside the call and no check at all. Goal: archopt "
             "adds at most 10% (ratio <= 1.10).", "",
             "| model | method | archopt (s) | Captum directly (s) | ratio: median (quartiles; "
             "min-max) |", "|---|---|---|---|---|"]
    for label, r in results.items():
        for name, t in r["times"].items():
            theirs = "-" if t["captum_s"] != t["captum_s"] else f"{t['captum_s']:.4f}"
            ratio = ("- (no Captum method)" if theirs == "-" else
                     f"{t['ratio']:.2f} ({t['ratio_q1']:.2f}-{t['ratio_q3']:.2f}; "
                     f"{t['ratio_min']:.2f}-{t['ratio_max']:.2f})")
            lines.append(f"| {label} | {name} | {t['archopt_s']:.4f} | {theirs} | {ratio} |")
    lines += ["", "Faithfulness: `archopt.explain(run, examples=8, samples=256)` (the "
              "default checks): the area under each method's deletion curve (the target "
              "class's probability as feature groups are replaced by the training mean, most "
              "attributed first; lower is more faithful) beside random orders', and the "
              "randomization sanity check's rank correlation with all layers re-initialized "
              "(flagged at >= 0.5).", "",
              "| model (test accuracy) | method | deletion area | random order | sanity r | "
              "IG steps (completeness) |", "|---|---|---|---|---|---|"]
    for label, r in results.items():
        e = r["explain"]
        for name in e["faithfulness"]["ranking"]:
            m = e["methods"][name]
            c = m.get("completeness")
            ig = f"{m['steps']} ({100 * c['relative_delta_max']:.2g}%)" if c else ""
            s = m["sanity"]
            lines.append(f"| {label} ({r['test_accuracy']:.3f}) | {name} | "
                         f"{m['deletion']['area']:.3f} | {e['faithfulness']['random']['area']:.3f}"
                         f" | {s['rank_correlation'][-1]:.2f}{' flagged' if s['flagged'] else ''}"
                         f" | {ig} |")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    doc = path.read_text()
    if SECTION in doc:
        start = doc.index(SECTION)
        nxt = doc.find("\n## ", start + len(SECTION))
        doc = doc[:start] + text + (doc[nxt:] if nxt != -1 else "")
    else:
        doc = doc.rstrip() + "\n\n" + text
    path.write_text(doc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=Path, default=ROOT / "benchmarks" / "out" / "explain-runs")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    runs = train(args.runs)
    start = os.getloadavg()[0]
    results = measure(runs, args.repeats, args.runs / "explained")
    text = table(results, args.repeats, (start, os.getloadavg()[0]))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
