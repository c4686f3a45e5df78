"""The explanation section of a run's report, from ``RUN_DIR/explain/explain.json`` (written
by ``archopt explain``): the methods ranked by faithfulness with their checks, and the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archopt.report import html as h
from archopt.run_index import read_json


def method_rows(saved: dict[str, Any]) -> list[list[Any]]:
    """One row per method, most faithful first: time, completeness, deletion, sanity."""
    rows = []
    random_area = saved["faithfulness"]["random"]["area"]
    for name in saved["faithfulness"]["ranking"]:
        m = saved["methods"][name]
        c = m.get("completeness")
        s = m.get("sanity")
        rows.append([name, m.get("seconds_per_example", 0) * 1000,
                     f"{100 * c['relative_delta_max']:.2g}% ({m.get('steps')} steps)"
                     if c else "-", m["deletion"]["area"], random_area,
                     s["rank_correlation"][-1] if s else "-",
                     ("flagged" if s["flagged"] else "ok") if s else "not run"])
    return rows


def explanation_section(folder: Path) -> str:
    """The section's HTML, or "" when the folder holds no explain.json."""
    saved = read_json(folder / "explain.json")
    if not isinstance(saved, dict) or "methods" not in saved:
        return ""
    parts = [h.note(
        f"{len(saved['examples'])} {saved['split']} examples; explained: "
        f"{saved['explained_output']}, in {saved['units']}. Baseline (what a removed feature "
        f"becomes): {saved['baseline']}. Made by `archopt explain`; files in {folder}."),
        h.table(["method", "ms per example", "completeness", "deletion area",
                 "random order's area", "sanity r", "sanity"], method_rows(saved)),
        h.note("Lower deletion area: the output falls faster when the most-attributed features "
               "are removed first, so the map is more faithful to the model. Sanity r: rank "
               "correlation of |attribution| with the maps of a model whose layers were all "
               "re-initialized; a method whose maps barely change is flagged (Adebayo et al. "
               "2018).")]
    captions = {"deletion.png": "Deletion curves against random orders.",
                "maps.png": "Signed attribution maps over the raw images (red: for the "
                            "explained output, blue: against it).",
                "global.png": "Global view: mean |attribution| per feature beside "
                              "permutation importance."}
    for name in saved.get("files", []):
        path = folder / name
        if name.endswith(".png") and path.is_file():
            parts.append(h.png(path.read_bytes(), captions.get(name, name.removesuffix(
                ".png").replace("_", " ", 1))))
    return "".join(parts)
