"""Write a compression directory in the format of ``archopt.compress.pipeline`` (spec.yaml with
a compress section, one run directory per step ``NN-<step>/`` whose metrics.json holds a
``compress`` block, report.json), so that the compression report is tested without running a
compression."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

SPEC = {"name": "digits-cnn", "seed": 0, "data": {"name": "digits"},
        "model": {"name": "cnn", "channels": [16, 32]},
        "compress": {"steps": [{"name": "prune", "ratio": 0.3}, {"name": "quantize",
                                                                 "method": "static"}],
                     "sweep": [0.2, 0.4]}}


def measured(params: int, macs: int, lat: float, acc: float) -> dict:
    return {"params": params, "nonzero_params": params, "macs": macs, "size_bytes": params * 4,
            "latency_ms": {"batch_1": lat, "batch_N": lat * 40}, "metric": "accuracy",
            "metric_value": acc}


def write_compression(root: Path, finished: bool = True) -> Path:
    root.mkdir(parents=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(SPEC))
    chain = [measured(20_000, 400_000, 0.30, 0.975), measured(10_500, 190_000, 0.18, 0.969),
             measured(10_500, 190_000, 0.09, 0.966)]
    steps = []
    for i, name in enumerate(["train", "prune", "quantize"]):
        run = root / f"{i:02d}-{name}"
        (run / "checkpoints").mkdir(parents=True)
        (run / "spec.yaml").write_text(yaml.safe_dump({k: v for k, v in SPEC.items()
                                                       if k != "compress"}))
        (run / "run.json").write_text(json.dumps({"kind": "run", "status": "finished",
                                                  "params": chain[i]["params"]}))
        metrics = {"test": {"loss": 0.1, "accuracy": chain[i]["metric_value"]}, "epochs": 3}
        if i:
            b, a = chain[i - 1], chain[i]
            block = {"step": {"name": name, **({"ratio": 0.3} if name == "prune" else
                                               {"method": "static"})},
                     "before": b, "after": a, "others": {}, "batch_N": 256, "threads": 1,
                     "repeats": 30,
                     # after / before, as archopt.compress.measure.ratios writes them
                     "ratios": {"params": a["params"] / b["params"], "macs": a["macs"] / b["macs"],
                                "size_bytes": a["size_bytes"] / b["size_bytes"],
                                "latency_batch_1": a["latency_ms"]["batch_1"]
                                / b["latency_ms"]["batch_1"],
                                "latency_batch_N": a["latency_ms"]["batch_N"]
                                / b["latency_ms"]["batch_N"],
                                "metric_change": a["metric_value"] - b["metric_value"]},
                     "notes": [f"{name} note"]}
            metrics["compress"] = block
            steps.append({"run_dir": str(run), **block})
        (run / "metrics.json").write_text(json.dumps(metrics))
    if finished:
        sweep = [{"importance": imp, "ratio": r, "latency_ratio_batch_1": 1 - r,
                  "metric_value": 0.97 - r * (0.1 if imp == "l1" else 0.5)}
                 for imp in ("l1", "random") for r in (0.2, 0.4)]
        (root / "report.json").write_text(json.dumps(
            {"start": str(root / "00-train"), "steps": steps, "sweep": sweep}))
    return root
