"""The report of a tuning study or an architecture search (one format, see
``archopt.tune.study_dir``): the best trial, the optimization history, every trial's learning
curve with the pruned ones marked, parameter importances and parallel coordinates (Optuna's own
plots from ``plots/``), the Pareto front with each point's spec, and the table of trials.

Read from the study's files only (``study.json``, ``spec.yaml``, ``trials.csv``, ``best.json``,
``best.yaml``, ``plots/*.png`` and each trial's ``history.jsonl``), so a study on a shared
PostgreSQL storage reports the same, and Optuna need not be installed to read it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from archopt.report import html as h
from archopt.report import plots
from archopt.run_compare import flatten
from archopt.run_index import describe, read_history, read_json, read_trials, read_yaml

OPTUNA_PLOTS = {
    "param_importances": ("Parameter importance", "Optuna's importance of each searched "
                          "parameter for the first objective (fANOVA over the finished trials)."),
    "parallel_coordinate": ("Parallel coordinates", "Each line is a finished trial through its "
                            "parameter values, coloured by the first objective (Optuna)."),
    "intermediate_values": ("Intermediate values", "The value each trial reported to the pruner "
                            "per epoch, as Optuna recorded it."),
}


def _float(text: Any) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _png(path: Path, caption: str) -> str:
    return h.png(path.read_bytes(), caption) if path.is_file() else ""


def spec_changes(base: dict[str, Any], spec: dict[str, Any]) -> str:
    """``model.hidden=[64, 32], train.optimizer.lr=0.003``: what a trial changed."""
    a, b = flatten(base), flatten(spec)
    keys = [k for k in b if not k.startswith("tune.") and a.get(k) != b[k]]
    return ", ".join(f"{k}={b[k]}" for k in keys) or "(the base spec)"


def study_page(study_dir: Path) -> h.Page:
    """The page of one study or search folder."""
    row = describe(study_dir)
    spec = read_yaml(study_dir / "spec.yaml") or {}
    meta = read_json(study_dir / "study.json") or {}
    objectives: dict[str, str] = meta.get("objectives") or {}
    names = list(objectives)
    trials = read_trials(study_dir)
    best = read_json(study_dir / "best.json") or {}
    kind = row["kind"]
    page = h.Page(title=f"{spec.get('name') or study_dir.name}: {kind}",
                  subtitle=f"{study_dir} · {len(trials)} trials · objectives "
                           + ", ".join(f"{k} ({v})" for k, v in objectives.items()),
                  status=row["status"])
    states: dict[str, int] = {}
    for t in trials:
        states[t.get("state", "?")] = states.get(t.get("state", "?"), 0) + 1
    top = best.get("best") or {}
    for n in names:
        if n in (top.get("values") or {}):
            page.cards.append((f"best {n}", top["values"][n]))
    page.cards += [(s.lower(), c) for s, c in states.items()]
    if row.get("detail"):
        page.add("Status", h.note(f"{row['status']}: {row['detail']}"))
    page.add("Best trial", best_section(study_dir, top, names, spec))
    history = _history_points(trials, names)
    if history:
        page.add("Optimization history", h.figure(
            plots.optimization_history(history, names[0], objectives[names[0]]),
            f"{names[0]} of every finished trial, by trial number; the line is the best so far. "
            "Pruned trials show the last value they reported."))
    page.add("Learning curves", curves_section(study_dir, trials, names))
    for key, (title, caption) in OPTUNA_PLOTS.items():
        page.add(title, _png(study_dir / "plots" / f"{key}.png", caption))
    if len(names) > 1:
        page.add("Pareto front", pareto_section(study_dir, best, names, objectives, spec,
                                                trials))
    page.add("Trials", trials_table(trials, names, top.get("number")))
    page.add("Spec", h.note("The study's spec, tune section included: `archopt tune --resume "
                            f"{study_dir}` continues it."),
             h.code((study_dir / "spec.yaml").read_text()
                    if (study_dir / "spec.yaml").is_file() else ""))
    return page


def best_section(study_dir: Path, top: dict[str, Any], names: list[str],
                 spec: dict[str, Any]) -> str:
    if not top:
        return h.note("No trial has finished within the budgets yet.")
    run = study_dir / str(top.get("run_dir") or "")
    items: list[tuple[str, Any]] = [("trial", top.get("number"))]
    items += [(n, v) for n, v in (top.get("values") or {}).items()]
    items += [(f"parameter {k}", str(v)) for k, v in (top.get("params") or {}).items()]
    items += [(f"cost {k}", v) for k, v in (top.get("costs") or {}).items() if v is not None]
    metrics = read_json(run / "metrics.json") or {}
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    items += [(f"test {k}", v) for k, v in test.items() if isinstance(v, int | float)]
    items.append(("run directory", str(run)))
    best_yaml = study_dir / "best.yaml"
    return (h.pairs(items)
            + (h.fold(f"best.yaml: `archopt train {best_yaml}` trains it again",
                      h.code(best_yaml.read_text())) if best_yaml.is_file() else "")
            + h.note(f"Its own report: archopt report {run}"))


def _history_points(trials: list[dict[str, str]], names: list[str]) -> list[tuple[int, float,
                                                                                    str]]:
    pts = []
    for t in trials:
        v = _float(t.get(names[0])) if names else None
        if v is not None and t.get("state") in ("COMPLETE", "PRUNED"):
            pts.append((int(t["number"]), v, t["state"]))
    return pts


def curves_section(study_dir: Path, trials: list[dict[str, str]], names: list[str]) -> str:
    """Every trial's validation curve of the first metric objective, pruned ones marked."""
    metric = next((n for n in names if n.startswith(("val_", "train_"))), "val_loss")
    series = []
    for t in trials:
        hist = read_history(study_dir / str(t.get("run_dir") or "") / "history.jsonl")
        pts = [(x.get("epoch", i + 1), x[metric]) for i, x in enumerate(hist)
               if isinstance(x.get(metric), int | float)]
        if pts:
            series.append((int(t["number"]), t.get("state", "?"), pts))
    if not series:
        return ""
    pruned = sum(s[1] == "PRUNED" for s in series)
    return h.figure(plots.trial_curves(series, metric),
                    f"{metric} per epoch of {len(series)} trials ({pruned} pruned, in orange; "
                    "finished in blue; failed in grey), from each trial's history.jsonl.")


def pareto_section(study_dir: Path, best: dict[str, Any], names: list[str],
                   objectives: dict[str, str], spec: dict[str, Any],
                   trials: list[dict[str, str]]) -> str:
    front = best.get("pareto_front") or []
    x, y = names[0], names[1]
    pts = [(_float(t.get(x)), _float(t.get(y)), int(t["number"])) for t in trials
           if t.get("state") == "COMPLETE"]
    pts = [p for p in pts if p[0] is not None and p[1] is not None]
    numbers = [p["number"] for p in front]
    fig = h.figure(plots.pareto(pts, numbers, x, y),
                   f"Every finished trial (grey) and the Pareto front (numbered): no other trial "
                   f"is better on both {x} and {y}.") if pts else ""
    rows = []
    for p in front:
        trial_spec = read_yaml(study_dir / str(p.get("run_dir") or "") / "spec.yaml") or {}
        rows.append([p["number"], *[(p.get("values") or {}).get(n) for n in names],
                     spec_changes(spec, trial_spec) if trial_spec else
                     ", ".join(f"{k}={v}" for k, v in (p.get("params") or {}).items())])
    return fig + h.table(["trial", *names, "its spec (what differs from the study's)"], rows)


def trials_table(trials: list[dict[str, str]], names: list[str], best: Any) -> str:
    if not trials:
        return h.note("trials.csv is empty")
    params = [c for c in trials[0] if c not in ("number", "state", "epochs", "wall_s",
                                                "overhead_s", "reason", "run_dir")
              and c not in names and not c.startswith("cost_")]
    cols = ["trial", "state", *names, *params, "epochs", "wall s", "reason"]
    rows, highlight = [], None
    for i, t in enumerate(trials):
        if str(t.get("number")) == str(best):
            highlight = i
        values = [_num_or_text(t.get(n)) for n in names]
        rows.append([int(t["number"]), t.get("state"), *values,
                     *[_num_or_text(t.get(p)) for p in params], _num_or_text(t.get("epochs")),
                     _float(t.get("wall_s")), t.get("reason") or ""])
    return h.table(cols, rows, highlight=highlight) + h.note("The highlighted row is the best "
                                                             "trial.")


def _num_or_text(v: Any) -> Any:
    if v in (None, ""):
        return None
    f = _float(v)
    if f is None:
        return v
    return int(f) if f.is_integer() and "." not in str(v) else f
