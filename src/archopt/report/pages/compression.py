"""The report of a compression (``archopt compress``'s directory: ``spec.yaml``, one run
directory per step ``NN-<step>/``, ``report.json``): each step's before/after table, the
accuracy-latency trade-off of the steps (and the pruning sweep), and the steps' own metrics.

Read from ``report.json``, or, while a compression runs or after it was killed, from the
``compress`` block of each finished step's ``metrics.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archopt.report import html as h
from archopt.report import plots
from archopt.run_index import describe, read_json, step_dirs


def compression_report(root: Path) -> dict[str, Any]:
    """report.json, or the same built from the finished steps' metrics.json."""
    saved = read_json(root / "report.json")
    if isinstance(saved, dict):
        return saved
    steps = []
    for d in step_dirs(root):
        block = (read_json(d / "metrics.json") or {}).get("compress")
        if isinstance(block, dict):
            steps.append({"run_dir": str(d), **block})
    return {"start": None, "steps": steps}


def _ratio(r: Any) -> str:
    return "–" if not isinstance(r, int | float) else f"{r:.2f}×"


def step_table(block: dict[str, Any]) -> str:
    """Before, after and their ratio for one step."""
    b, a, r = block.get("before") or {}, block.get("after") or {}, block.get("ratios") or {}
    lb, la = b.get("latency_ms") or {}, a.get("latency_ms") or {}
    metric = a.get("metric", "metric")
    change = r.get("metric_change")
    rows = [
        ["parameters", b.get("params"), a.get("params"), _ratio(r.get("params"))],
        ["non-zero parameters", b.get("nonzero_params"), a.get("nonzero_params"), ""],
        ["MACs per example", b.get("macs"), a.get("macs"), _ratio(r.get("macs"))],
        ["size on disk (bytes)", b.get("size_bytes"), a.get("size_bytes"),
         _ratio(r.get("size_bytes"))],
        ["latency batch 1 (ms)", lb.get("batch_1"), la.get("batch_1"),
         _ratio(r.get("latency_batch_1"))],
        [f"latency batch {block.get('batch_N', 'N')} (ms)", lb.get("batch_N"),
         la.get("batch_N"), _ratio(r.get("latency_batch_N"))],
        [f"test {metric}", b.get("metric_value"), a.get("metric_value"),
         "–" if change is None else f"{change:+.4f}"],
    ]
    for name, other in (block.get("others") or {}).items():  # e.g. the float model in ORT
        lo = (other or {}).get("latency_ms") or {}
        for b, label in (("batch_1", "batch 1"), ("batch_N", f"batch {block.get('batch_N')}")):
            if isinstance(lo.get(b), int | float):
                rows.append([f"latency {label} (ms), {name.replace('_', ' ')}", None, lo[b],
                             ""])
    step = block.get("step") or {}
    settings = ", ".join(f"{k}={v}" for k, v in step.items()
                         if k != "name" and v not in (None, [], {}))
    notes = "".join(h.note(n) for n in block.get("notes", []))
    measured = h.note(f"Measured with {block.get('threads', '?')} thread(s), median of "
                      f"{block.get('repeats', '?')} interleaved runs. Ratios: after / before "
                      "(below 1 is smaller or faster).")
    return (h.note(settings) if settings else "") + h.table(
        ["", "before", "after", "ratio"], rows) + measured + notes


def compression_page(root: Path) -> h.Page:
    """The page of one compression directory."""
    row = describe(root)
    report = compression_report(root)
    steps = report.get("steps") or []
    page = h.Page(title=f"{row['name']}: compression",
                  subtitle=f"{root} · {len(steps)} steps · from {report.get('start') or '?'}",
                  status=row["status"])
    if steps:
        first, last = steps[0].get("before") or {}, steps[-1].get("after") or {}
        metric = last.get("metric", "metric")
        page.cards += [(f"test {metric} before", first.get("metric_value")),
                       (f"test {metric} after", last.get("metric_value")),
                       ("parameters after", last.get("params"))]
        lat0 = (first.get("latency_ms") or {}).get("batch_1")
        lat1 = (last.get("latency_ms") or {}).get("batch_1")
        if lat0 and lat1:
            page.cards.append(("speed-up at batch 1", f"{lat0 / lat1:.2f}×"))
    if row.get("detail"):
        page.add("Status", h.note(f"{row['status']}: {row['detail']}"))
    points = tradeoff_points(steps)
    if points:
        sweep = [(p.get("latency_ratio_batch_1"), p.get("metric_value"), p.get("importance"))
                 for p in report.get("sweep") or []]
        page.add("Accuracy and latency", h.figure(
            plots.tradeoff(points, sweep, (steps[0].get("after") or {}).get("metric", "metric")),
            "Test metric against batch-1 latency relative to the starting model, after each "
            "step (cumulative); the pruning sweep, when run, without fine-tuning."))
    for block in steps:
        name = (block.get("step") or {}).get("name") or Path(block.get("run_dir", "")).name
        page.add(f"Step {Path(str(block.get('run_dir', name))).name}", step_table(block),
                 h.note(f"Its run directory: {block.get('run_dir')} (archopt report "
                        f"{block.get('run_dir')} for its own page)."))
    page.add("Spec", h.code((root / "spec.yaml").read_text()
                            if (root / "spec.yaml").is_file() else ""))
    return page


def tradeoff_points(steps: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """(latency ratio to the start, metric, label) for the start and each step."""
    if not steps:
        return []
    first = steps[0].get("before") or {}
    lat0 = (first.get("latency_ms") or {}).get("batch_1")
    if not lat0 or first.get("metric_value") is None:
        return []
    pts = [(1.0, first["metric_value"], "start")]
    for s in steps:
        a = s.get("after") or {}
        lat = (a.get("latency_ms") or {}).get("batch_1")
        if lat and a.get("metric_value") is not None:
            pts.append((lat / lat0, a["metric_value"], (s.get("step") or {}).get("name", "?")))
    return pts
