"""What an explanation leaves behind, in one folder written atomically:

  explain.json       the examples, the explained output, the baseline, per method its time and
                     checks, the methods ranked by faithfulness, the global view (tabular)
  attributions.npz   the raw inputs, the lengths and every method's attributions
  *.png              the maps (image), strips (sequence) or bars (tabular), and the deletion
                     curves, with the checks written on them
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archopt.explain.subject import Subject

FORMAT = 1


def summary(subject: Subject, names: list[str], idx: list[int], target: torch.Tensor,
            explained: str, lengths: torch.Tensor | None, report: dict[str, Any],
            faith: dict[str, Any], sanity: dict[str, Any] | None) -> dict[str, Any]:
    """explain.json's content (without the file list)."""
    with torch.no_grad():
        out = subject.model(subject.x[idx], lengths)
    rows = []
    for j, i in enumerate(idx):
        row: dict[str, Any] = {"index": i, "target": int(target[j])}
        if subject.task == "classification":
            row["predicted"] = int(out[j].argmax())
            row["true"] = int(subject.y[i])
            row["probability"] = round(float(torch.softmax(out[j], 0)[target[j]]), 5)
        else:
            row["output"] = round(float(out[j, target[j]]), 6)
        if lengths is not None:
            row["length"] = int(lengths[j])
        rows.append(row)
    methods = {}
    for name in names:
        m = {**report[name], "deletion": faith["methods"][name]}
        if sanity is not None:
            m["sanity"] = {"rank_correlation": sanity["methods"][name],
                           "flagged": name in sanity["flagged"]}
        methods[name] = m
    return {
        "format": FORMAT, "run_dir": str(subject.run_dir), "checkpoint": str(subject.checkpoint),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "split": subject.split,
        "kind": subject.kind, "task": subject.task, "explained_output": explained,
        "units": "the data's raw units (the run's normalization is inside the explained "
                 "function)",
        "baseline": subject.baseline_name, "class_names": subject.class_names,
        "feature_names": subject.feature_names, "examples": rows, "methods": methods,
        "faithfulness": {"fractions": faith["fractions"], "random": faith["random"],
                         "ranking": faith["ranking"],
                         "follows": "the probability of the target class"
                         if subject.task == "classification" else explained},
        "sanity": None if sanity is None else {
            k: sanity[k] for k in ("layers_from_top", "stages", "threshold", "flagged")}}


def write(subject: Subject, result: dict[str, Any], attributions: dict[str, torch.Tensor],
          x: torch.Tensor, lengths: torch.Tensor | None, out: str | Path | None,
          plots: bool) -> dict[str, Any]:
    """Write the folder (a temporary one renamed into place: never half-written)."""
    from archopt.cli.output import to_jsonable

    target = Path(out) if out is not None else subject.run_dir / "explain"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        np.savez_compressed(tmp / "attributions.npz", inputs=x.numpy(),
                            lengths=np.asarray([] if lengths is None else lengths.numpy()),
                            **{m: a.numpy() for m, a in attributions.items()})
        files = ["explain.json", "attributions.npz"]
        if plots:
            from archopt.explain import plots as figures

            files += figures.draw(tmp, subject, result, attributions, x, lengths)
        result = {**result, "files": files}
        (tmp / "explain.json").write_text(json.dumps(to_jsonable(result), indent=2) + "\n")
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {**result, "out": str(target)}
