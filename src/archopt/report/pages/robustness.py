"""The run page's robustness section, from ``RUN_DIR/robustness/robustness.json`` (written by
``archopt robustness``): the curves, the strongest attack per epsilon, per-class accuracy, the
gradient-masking checks and the examples that flip first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from archopt.report import html as h


def read(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "robustness" / "robustness.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except (OSError, ValueError):
        return None


def section(r: dict[str, Any]) -> list[str]:
    """The parts of the section (notes, figure, tables)."""
    from archopt.report.plots import to_svg
    from archopt.robust.plots import curves_figure

    d = r.get("domain") or {}
    rng = (f"[{d.get('lo'):.4g}, {d.get('hi'):.4g}]" if d.get("lo") is not None
           else "unbounded")
    parts = [h.note(f"archopt robustness on the {r.get('split')} split ({r.get('examples')} "
                    f"examples), in raw input units (valid range {rng}); PGD with "
                    f"{r.get('steps')} steps and {r.get('restarts')} restart(s). Clean accuracy "
                    f"{r.get('clean_accuracy', float('nan')):.4f}."),
             h.figure(to_svg(curves_figure(r)), "Accuracy against attack epsilon (L-inf, L2) "
                      "and corruption strength; dashed: the strongest attack per example.")]
    s = r.get("strongest")
    if s:
        parts.append(h.table(["epsilon (raw)", "of range", "strongest-attack accuracy"],
                             [[e, f"{rel:.1%}", a] for e, rel, a in
                              zip(s["eps"], s["eps_relative"], s["accuracy"])]))
        names = r.get("class_names") or [str(i) for i in range(len(s["per_class"][0]))]
        cols = [f"eps {e:.3g}" for e in s["eps"]]
        parts.append(h.fold("per-class accuracy under the strongest attack", h.table(
            ["class", *cols], [[n, *[pc[i] for pc in s["per_class"]]]
                               for i, n in enumerate(names)])))
    checks = r.get("checks") or []
    if checks:
        flag = ("a gradient-masking check FAILED: the attack curves may overstate robustness"
                if r.get("gradient_masking_suspected") else
                "every gradient-masking check passed")
        parts.append(h.note(flag))
        parts.append(h.table(["check", "passed", "detail"],
                             [[c["name"], c["passed"], c["detail"]] for c in checks]))
    flips = r.get("first_flips") or []
    if flips:
        parts.append(h.fold("examples that flip first (smallest epsilon)", h.table(
            ["test index", "label", "epsilon"], [[f["index"], f["label"], f["eps"]]
                                                  for f in flips])))
    return parts
