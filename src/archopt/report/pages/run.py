"""The report of one run: headline figures, metrics per split, learning curves, the task's own
plots (confusion matrix and per-class scores, predicted vs true, reconstructions, samples),
the profile, the data and the spec.

Everything in metrics.json and history.jsonl is shown as written there; the model is loaded
(best checkpoint) only for what those files do not hold: regression predictions,
reconstructions and the profile. When that fails (the data moved, say), the page says why in
place of those sections and still shows the rest.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from archopt.report import html as h
from archopt.report import plots
from archopt.report.pages import robustness as robustness_page
from archopt.run_index import describe, read_history, read_json, read_yaml
from archopt.run_status import read_run_file

SPLITS = ("train", "val", "test")


def scalar_metrics(metrics: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(metric names, rows of split + values) of metrics.json's scalar figures."""
    splits = [s for s in SPLITS if isinstance(metrics.get(s), dict)]
    names: list[str] = []
    for s in splits:
        names += [k for k, v in metrics[s].items()
                  if isinstance(v, int | float) and not isinstance(v, bool) and k not in names]
    return names, [[s] + [metrics[s].get(n) for n in names] for s in splits]


def per_class(cm: list[list[int]]) -> list[list[Any]]:
    """Per-class precision, recall, F1 and support from a confusion matrix (rows: true)."""
    m = np.asarray(cm, dtype=float)
    tp = np.diag(m)
    support, predicted = m.sum(axis=1), m.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return [[str(i), float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])]
            for i in range(len(m))]


def best_epoch(history: list[dict[str, Any]], monitor: str | None) -> int | None:
    """The epoch whose monitored value was best (what best.pt holds)."""
    from archopt.train.metrics import monitor_mode

    if not monitor:
        return None
    points = [(h[monitor], h.get("epoch", i + 1)) for i, h in enumerate(history)
              if isinstance(h.get(monitor), int | float)]
    if not points:
        return None
    pick = max if monitor_mode(monitor) == "max" else min
    return int(pick(points, key=lambda p: p[0])[1])


def headline(page: h.Page, row: dict[str, Any], metrics: dict[str, Any]) -> None:
    """The cards under the title: the main metric, parameters, epochs, time."""
    if row.get("value") is not None:
        page.cards.append((row["metric"].replace("_", " ", 1), row["value"]))
    for split in ("test", "val"):
        loss = (metrics.get(split) or {}).get("loss")
        if isinstance(loss, int | float):
            page.cards.append((f"{split} loss", loss))
            break
    if row.get("params") is not None:
        page.cards.append(("parameters", row["params"]))
    if row.get("epochs") is not None:
        page.cards.append(("epochs", row["epochs"]))
    if row.get("time_s") is not None:
        page.cards.append(("training time (s)", row["time_s"]))


def metrics_section(metrics: dict[str, Any], row: dict[str, Any]) -> str:
    """The headline figures per split, the last epoch's below them, and which weights."""
    names, rows = scalar_metrics(metrics)
    if not rows:
        return h.note(f"no metrics.json yet: the run is {row['status']}; the curves below come "
                      "from history.jsonl")
    last = metrics.get("last") if isinstance(metrics.get("last"), dict) else {}
    last_names, last_rows = scalar_metrics(last)
    head = metrics.get("headline") if isinstance(metrics.get("headline"), dict) else {}
    same = head.get("epoch") is not None and head.get("epoch") == last.get("epoch")
    at_last = 0
    for r in last_rows:
        if r[0] != "train" and not same:  # the last epoch's weights, when not the headline's
            rows.append([f"{r[0]} @ last epoch"] + [r[1 + last_names.index(n)]
                                                    if n in last_names else None for n in names])
            at_last += 1
    if metrics.get("train_figures") == "running":
        rows = [[("train (running)" if r[0] == "train" else r[0]), *r[1:]] for r in rows]
    said = ""
    if head:  # a compression step's headline has no epoch: it is the step's output model
        epoch = (f", epoch {head['epoch']} of {metrics.get('epochs')}"
                 if head.get("epoch") is not None else "")
        said = h.note(f"Headline: the {head.get('checkpoint')} checkpoint{epoch} "
                      f"({head.get('chosen_by')})."
                      + (" Rows '@ last epoch' are the last epoch's weights." if at_last else ""))
    extra = [(k, v) for k, v in metrics.items() if k not in SPLITS and k != "format"
             and isinstance(v, int | float) and not isinstance(v, bool)]
    return said + h.table(["split", *names], rows) + (h.pairs(extra) if extra else "")


def classification_section(metrics: dict[str, Any]) -> str:
    split = next((s for s in ("test", "val", "train")
                  if isinstance((metrics.get(s) or {}).get("confusion_matrix"), list)), None)
    if split is None:
        return ""
    cm = metrics[split]["confusion_matrix"]
    rows = per_class(cm)
    worst = min(range(len(rows)), key=lambda i: rows[i][3]) if rows else None
    return (h.figure(plots.confusion_matrix(cm),
                     f"Confusion matrix on the {split} split ({int(np.sum(cm))} examples): "
                     "counts, shaded by the share of each true class.")
            + f"<h3>Per-class precision, recall and F1 ({split})</h3>"
            + h.table(["class", "precision", "recall", "F1", "support"], rows, highlight=worst)
            + h.note("The highlighted row is the class with the lowest F1."))


def model_sections(page: h.Page, run_dir: Path, task: str | None) -> None:
    """Sections that need the model: task plots, the profile, the data summary."""
    from archopt.errors import UserError

    try:
        loaded = _load(run_dir, task)
    except (UserError, OSError, KeyError, RuntimeError, ValueError, ImportError) as exc:
        page.add("Model", h.note(f"The model could not be loaded, so predictions and the "
                                 f"profile are left out: {exc}"))
        return
    from archopt.report.pages import run_model_plots

    run_model_plots.task_plots(page, loaded, task, run_dir)
    run_model_plots.profile_section(page, loaded)
    run_model_plots.data_section(page, loaded)


def _load(run_dir: Path, task: str | None) -> Any:
    from archopt.report.run_model import load_run

    return load_run(run_dir, with_data=True)


def files_section(run_dir: Path) -> str:
    rows = []
    for root, dirs, files in os.walk(run_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if f.startswith("."):
                continue
            p = Path(root) / f
            rows.append([str(p.relative_to(run_dir)), p.stat().st_size])
    return h.fold(f"{len(rows)} files in {run_dir}", h.table(["file", "bytes"], rows))


def run_page(run_dir: str | os.PathLike, with_model: bool = True) -> h.Page:
    """The report page of one run directory.

    Args:
        run_dir: a folder made by ``archopt train`` (or a trial, or a compression step).
        with_model: load the model for predictions and the profile (off: only the files).
    """
    path = Path(run_dir)
    row = describe(path)
    info = read_run_file(path)
    metrics = read_json(path / "metrics.json") or {}
    history = read_history(path / "history.jsonl")
    spec_text = (path / "spec.yaml").read_text() if (path / "spec.yaml").is_file() else ""
    spec = read_yaml(path / "spec.yaml") or {}
    task = row.get("task")
    page = h.Page(title=str(spec.get("name") or path.name),
                  subtitle=f"{path} · {row.get('model')} · {task} · started "
                           f"{row.get('started', '').replace('T', ' ')}",
                  status=row["status"])
    headline(page, row, metrics)
    status_note = h.note(f"{row['status']}: {row['detail']}") if row.get("detail") else ""
    page.add("Metrics", status_note, metrics_section(metrics, row))
    if history:
        monitor = info.get("monitor") or ("val_loss" if "val_loss" in history[-1]
                                          else "train_loss")
        head = metrics.get("headline") if isinstance(metrics.get("headline"), dict) else {}
        if head.get("checkpoint") == "best":
            best, monitor = head.get("epoch"), head.get("monitor") or monitor
        elif head:
            best = None
        else:
            best = best_epoch(history, monitor)
        caption = "Per epoch: training (solid) and validation (dashed)."
        if best:
            caption += (f" The dotted line is the best epoch by {monitor} ({best}): the weights "
                        "of checkpoints/best.pt, which the headline figures are.")
        page.add("Learning curves", h.figure(plots.learning_curves(history, best), caption),
                 h.fold("epoch times", h.table(["epoch", "seconds"], [
                     [x.get("epoch"), x.get("epoch_time_s")] for x in history])))
    if isinstance(metrics.get("compress"), dict):  # a step of `archopt compress`
        from archopt.report.pages.compression import step_table

        block = metrics["compress"]
        page.add("Compression step", h.note(
            f"Step {(block.get('step') or {}).get('name', '?')} of a compression, from "
            f"{block.get('from', '?')}; the compression's own page: archopt report "
            f"{path.parent}."), step_table(block))
    if task == "classification":
        page.add("Classification", classification_section(metrics))
    robust = robustness_page.read(path)  # archopt robustness RUN_DIR wrote one
    if robust is not None:
        page.add("Robustness", *robustness_page.section(robust))
    if with_model and (path / "data_shape.json").is_file():
        model_sections(page, path, task)
    if (path / "explain" / "explain.json").is_file():
        from archopt.report.pages.explanation import explanation_section

        page.add("Explanations", explanation_section(path / "explain"))
    page.add("Spec", h.note("The resolved spec: `archopt train` on this file repeats the run."),
             h.code(spec_text))
    page.add("Files", files_section(path))
    return page
