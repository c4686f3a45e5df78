"""The parts of a run's report that need its model: predictions on the test split
(regression, reconstruction), GAN samples, the profile and the data summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from archopt.report import html as h
from archopt.report import plots
from archopt.report.run_model import LoadedRun, predict


def _eval_split(run: LoadedRun) -> tuple[str, Any]:
    data = run.data
    for name in ("test", "val", "train"):
        split = getattr(data, name, None) if data is not None else None
        if split is not None and len(split):
            return name, split
    return "", None


def task_plots(page: h.Page, run: LoadedRun, task: str | None, run_dir: Path) -> None:
    """Predicted vs true for regression, reconstructions for autoencoders, samples for GANs."""
    if task == "generation":
        page.add("Samples", samples_section(run_dir))
        return
    name, split = _eval_split(run)
    if split is None or task not in ("regression", "reconstruction"):
        return
    if task == "regression":
        _, out, y = predict(run, split, limit=2000)
        weights = f", weights of {run.checkpoint.name}" if run.checkpoint else ""
        page.add("Regression", h.figure(
            plots.regression(out.numpy(), y.numpy()),
            f"Predicted vs true (left; the dashed line is perfect) and residuals (right) on "
            f"the {name} split, {len(y)} examples{weights}."))
    else:
        x, out, _ = predict(run, split, limit=8)
        kind = run.shape.kind
        page.add("Reconstructions", h.figure(
            plots.reconstructions(x.numpy(), out.reshape(x.shape).numpy(), kind),
            f"The first {len(x)} examples of the {name} split (top) and the autoencoder's "
            f"reconstructions (bottom), normalized inputs."))


def samples_section(run_dir: Path) -> str:
    """The GAN's sample grids: the first and the last saved epochs."""
    grids = sorted((run_dir / "samples").glob("epoch_*.png"))
    if not grids:
        return h.note("no samples/ yet")
    picks = [grids[0], grids[-1]] if len(grids) > 1 else grids
    return "".join(h.png(p.read_bytes(), f"samples/{p.name}: generated from fixed noise "
                         f"(epoch {int(p.stem.split('_')[1])})") for p in picks)


def profile_section(page: h.Page, run: LoadedRun) -> None:
    """Parameters, FLOPs, memory, measured latency and the per-layer table."""
    import torch

    from archopt.report.profile import profile_model

    threads = torch.get_num_threads()
    try:
        p = profile_model(run.model, run.shape, batch_size=64, repeats=10)
    finally:
        torch.set_num_threads(threads)
    lat = p["latency_ms"]
    int8 = getattr(run.model, "onnx_int8", False)  # archopt compress's int8 ONNX model
    summary = [
        ("parameters", f"{p['params']:,} ({p['trainable_params']:,} trainable)"),
        ("FLOPs per example" + (" (generator)" if p.get("profiled") else ""), p["flops"]),
        ("size (int8 ONNX model)" if int8 else "size (parameters + buffers)",
         f"{p['size_bytes'] / 1024:,.1f} KiB"),
        ("latency, batch 1", f"{lat['batch_1']:.3f} ms"),
        (f"latency, batch {p['batch_N']}", f"{lat['batch_N']:.3f} ms"),
        ("measured on", f"{p['device']}{', ONNX Runtime' if int8 else ''}, {p['threads']} "
                        f"threads, median of {p['repeats']} runs, while this report was made"),
    ]
    if int8:
        page.add("Profile", h.pairs(summary), h.note(
            "An int8 model run by ONNX Runtime: parameters and FLOPs are those of the float "
            "model it was quantized from; PyTorch cannot look inside it, so there is no "
            "per-layer table or activation memory."))
        return
    summary.insert(3, ("activations per example",
                       f"{p['activation_bytes'] / 1024:,.1f} KiB summed, "
                       f"{p['peak_activation_bytes'] / 1024:,.1f} KiB peak layer"))
    layers = [[r["name"], r["type"], "×".join(map(str, r["output_shape"] or [])) or "–",
               r["params"], r["flops"]] for r in p["layers"]]
    page.add("Profile", h.pairs(summary),
             h.fold(f"per-layer table ({len(layers)} layers; batch 1; each module's own "
                    "parameters and FLOPs)",
                    h.table(["layer", "type", "output", "params", "FLOPs"], layers)))


def data_section(page: h.Page, run: LoadedRun) -> None:
    """The data section of the spec, the data's shape, split sizes and class counts."""
    shape, spec = run.shape, run.spec.data
    items: list[tuple[str, Any]] = [
        ("dataset", spec.name), ("kind", shape.kind),
        ("input shape", " × ".join(map(str, shape.input_shape))), ("task", shape.task),
        ("outputs", shape.num_outputs), ("batch size", spec.batch_size),
        ("validation split", spec.val_split),
        ("augmentation", ", ".join(a.get("name", "?") if isinstance(a, dict) else str(a)
                                   for a in (spec.model_dump().get("augment") or [])) or "none"),
    ]
    data = run.data
    counts = ""
    if data is not None:
        sizes = {n: len(getattr(data, n)) for n in ("train", "val", "test")
                 if getattr(data, n, None) is not None}
        items.append(("examples", ", ".join(f"{n} {v:,}" for n, v in sizes.items())))
        if shape.task == "classification" and shape.num_outputs <= 50:
            series = {}
            for n in sizes:
                y = getattr(data, n).y
                y = y.argmax(-1) if y.ndim == 2 else y
                series[n] = np.bincount(y.numpy(), minlength=shape.num_outputs).tolist()
            counts = h.figure(plots.bars([str(i) for i in range(shape.num_outputs)], series,
                                         "examples", "examples per class"),
                              "Class balance of each split.")
    page.add("Data", h.pairs(items), counts)
