"""The run registry: every run, study, search and compression under a folder, one row each.

A row is read from small files only (``run.json``, ``metrics.json``, ``spec.yaml``,
``history.jsonl`` for unfinished runs), never a checkpoint, so a folder of hundreds of runs
lists in a moment. Folders that are not archopt's are skipped; the inside of a study (its
trials) is summarized by the study's row.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import operator
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from archopt.errors import UserError, suggest
from archopt.run_status import read_run_file, run_status

COLUMNS = ["name", "kind", "started", "status", "model", "params", "metric", "value",
           "epochs", "time_s", "path"]
# folders inside a run that never hold another run
_SKIP = {"checkpoints", "samples", "tensorboard", "__pycache__", "plots"}
_STAMP = re.compile(r"(\d{8}-\d{6})")
_STEP = re.compile(r"^\d{2}-[a-z_]+$")  # a compression step: 01-prune
# the metric a row shows, per task, when the spec lists none
_MAIN = {"classification": "accuracy", "regression": "r2", "reconstruction": "mse",
         "generation": "g_loss"}
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_json(path: Path) -> Any:
    """A JSON file's contents, or None when absent or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_yaml(path: Path) -> Any:
    """A YAML file's contents (C loader when available), or None."""
    try:
        return yaml.load(path.read_text(), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return None


def read_history(path: Path) -> list[dict[str, Any]]:
    """history.jsonl's lines; a half-written last line (a running or killed run) is skipped."""
    lines = []
    try:
        text = path.read_text()
    except OSError:
        return []
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def kind_of(path: Path) -> str | None:
    """``run``, ``study``, ``search`` or ``compression`` for an archopt folder, else None."""
    if (path / "study.json").is_file():
        objectives = (read_json(path / "study.json") or {}).get("objectives") or {}
        return "search" if any(o in COSTS for o in objectives) else "study"
    if (path / "spec.yaml").is_file() and ((path / "report.json").is_file() or step_dirs(path)):
        spec = read_yaml(path / "spec.yaml")
        if isinstance(spec, dict) and spec.get("compress"):
            return "compression"
    if (path / "spec.yaml").is_file() and any(
            (path / f).exists() for f in ("run.json", "metrics.json", "history.jsonl",
                                          "checkpoints")):
        info = read_run_file(path)
        return str(info.get("kind", "run"))
    return None


def step_dirs(root: Path) -> list[Path]:
    """A compression's step run directories, ``00-train``, ``01-prune``... in order."""
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and _STEP.match(p.name)
                      and (p / "spec.yaml").is_file())
    except OSError:
        return []


def find(root: Path) -> Iterator[tuple[Path, str]]:
    """``(folder, kind)`` for every archopt folder under ``root`` (root included)."""
    kind = kind_of(root)
    if kind is not None:
        yield root, kind
        return
    try:
        children = sorted((e for e in os.scandir(root) if e.is_dir() and
                           not e.name.startswith(".") and e.name not in _SKIP),
                          key=lambda e: e.name)
    except OSError:
        return
    for entry in children:
        yield from find(Path(entry.path))


def started_of(path: Path, info: dict[str, Any]) -> str:
    """When a run started: run.json, else the folder's time stamp, else spec.yaml's mtime."""
    if info.get("started"):
        return str(info["started"])
    m = _STAMP.search(path.name)
    if m:
        t = time.strptime(m.group(1), "%Y%m%d-%H%M%S")
        return time.strftime("%Y-%m-%dT%H:%M:%S", t)
    try:
        mtime = (path / "spec.yaml").stat().st_mtime
    except OSError:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(mtime))


def task_of(spec: dict[str, Any], info: dict[str, Any], path: Path) -> str | None:
    """The run's task: run.json, the spec, or the data's shape."""
    train = spec.get("train") or {}
    task = info.get("task") or train.get("task")
    if task:
        return str(task)
    shape = read_json(path / "data_shape.json") or {}
    model = str((spec.get("model") or {}).get("name", ""))
    if "autoencoder" in model:
        return "reconstruction"
    if "gan" in model:
        return "generation"
    return shape.get("task")


def main_metric_name(spec: dict[str, Any], task: str | None) -> str:
    """The spec's first scalar metric, else the task's headline metric, else ``loss``."""
    listed = [m for m in ((spec.get("train") or {}).get("metrics") or [])
              if m != "confusion_matrix"]
    if listed:
        return str(listed[0])
    return _MAIN.get(task or "", "loss")


def main_metric(metrics: dict[str, Any], name: str) -> tuple[str, float | None]:
    """``(split_metric, value)`` from metrics.json: the test split, else val, else train."""
    for split in ("test", "val", "train"):
        values = metrics.get(split)
        if isinstance(values, dict) and isinstance(values.get(name), int | float):
            return f"{split}_{name}", float(values[name])
    return name, None


def run_row(path: Path, kind: str = "run") -> dict[str, Any]:
    """One row for a run (or a compression step, which is a run)."""
    info = read_run_file(path)
    spec = read_yaml(path / "spec.yaml") or {}
    spec = spec if isinstance(spec, dict) else {}
    status, detail = run_status(path, info)
    if status == "finished":  # a tuning trial stopped by the pruner ends its run normally
        status, detail = trial_status(path) or (status, detail)
    task = task_of(spec, info, path)
    name = main_metric_name(spec, task)
    metrics = read_json(path / "metrics.json")
    if isinstance(metrics, dict):
        metric, value = main_metric(metrics, name)
        epochs, time_s = metrics.get("epochs"), metrics.get("train_time_s")
    else:  # unfinished: the last epoch of its history
        history = read_history(path / "history.jsonl")
        last = history[-1] if history else {}
        key = next((k for k in (f"val_{name}", f"train_{name}", "val_loss", "train_loss")
                    if isinstance(last.get(k), int | float)), None)
        metric, value = (key, float(last[key])) if key else (name, None)
        epochs = last.get("epoch", 0)
        time_s = round(sum(h.get("epoch_time_s", 0.0) for h in history), 3)
    return {"name": spec.get("name") or path.name, "kind": kind,
            "started": started_of(path, info), "status": status, "detail": detail,
            "model": info.get("model") or (spec.get("model") or {}).get("name"),
            "params": info.get("params"), "task": task, "metric": metric, "value": value,
            "epochs": epochs, "time_s": time_s, "path": str(path)}


COSTS = ("params", "flops", "latency_ms", "train_time_s", "peak_activation_bytes",
         "batch_latency_ms", "throughput")
FINISHED_TRIALS = ("COMPLETE", "PRUNED", "FAIL")


def read_trials(path: Path) -> list[dict[str, str]]:
    """trials.csv of a study, one dict per trial (all values as text)."""
    import csv

    try:
        with open(path / "trials.csv", newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def trial_status(path: Path) -> tuple[str, str] | None:
    """``pruned`` or ``failed`` (with the reason) for a trial run directory ``STUDY/trials/N``
    whose study recorded it so in trials.csv; None for any other run."""
    study = path.parent.parent
    if path.parent.name != "trials" or not (study / "study.json").is_file():
        return None
    try:
        stamp = (study / "trials.csv").stat().st_mtime_ns
    except OSError:
        return None
    row = _trial_states(str(study), stamp).get(path.name)
    if row is None:
        return None
    state, reason = row
    if state == "PRUNED":
        return "pruned", reason or "stopped early by the tuner's pruner"
    if state == "FAIL":
        return "failed", reason
    return None


@functools.lru_cache(maxsize=8)
def _trial_states(study: str, stamp: int) -> dict[str, tuple[str, str]]:
    """trial folder name -> (state, reason) from a study's trials.csv (cached per version)."""
    return {Path(t["run_dir"]).name: (t.get("state", ""), t.get("reason") or "")
            for t in read_trials(Path(study)) if t.get("run_dir")}


def study_status(path: Path, spec: dict[str, Any], trials: list[dict[str, str]]
                 ) -> tuple[str, str]:
    """running (its process holds ``.lock``), finished, killed (resumable) or failed."""
    from archopt.run_status import lock_held

    if lock_held(path / ".lock"):
        return "running", "a process is running this study"
    tune = spec.get("tune") or spec.get("search") or {}  # archopt search: a search section
    command = "search" if spec.get("search") else "tune"
    wanted = tune.get("trials") or (None if (tune.get("sampler") or {}).get("name") == "grid"
                                    else 20)
    done = sum(t.get("state") in FINISHED_TRIALS for t in trials)
    if (wanted is None or done >= wanted or tune.get("timeout_s")) and (path / "plots").is_dir():
        return "finished", ""
    if trials:
        return "killed", (f"{done} of {wanted or '?'} trials; resume: archopt {command} "
                          f"--resume {path}")
    return "failed", "no trial was recorded"


def study_row(path: Path, kind: str = "study") -> dict[str, Any]:
    """One row for a tuning study or an architecture search: its best trial's first objective."""
    spec = read_yaml(path / "spec.yaml") or {}
    spec = spec if isinstance(spec, dict) else {}
    meta = read_json(path / "study.json") or {}
    trials = read_trials(path)
    status, detail = study_status(path, spec, trials)
    best = (read_json(path / "best.json") or {}).get("best") or {}
    objectives = list((meta.get("objectives") or {}).keys())
    metric = objectives[0] if objectives else None
    value = (best.get("values") or {}).get(metric) if metric else None
    started = started_of(path, {})
    return {"name": spec.get("name") or path.name, "kind": kind, "started": started,
            "status": status, "detail": detail, "model": (spec.get("model") or {}).get("name"),
            "params": (best.get("costs") or {}).get("params"), "task": None,
            "metric": f"best {metric}" if metric else None, "value": value,
            "epochs": None, "time_s": study_wall_s(trials), "trials": len(trials),
            "path": str(path)}


def study_wall_s(trials: list[dict[str, str]]) -> float | None:
    """The study's wall time: the union of its trials' [started, finished] intervals, so trials
    run side by side by several workers count once and the pause between a kill and its resume
    not at all. Studies written before trials.csv had those columns: the sum of the trials'
    ``wall_s``."""
    from datetime import datetime

    spans = sorted((datetime.fromisoformat(t["started"]), datetime.fromisoformat(t["finished"]))
                   for t in trials if t.get("started") and t.get("finished"))
    if not spans:
        wall = [float(t["wall_s"]) for t in trials if t.get("wall_s")]
        return round(sum(wall), 3) if wall else None
    total, (lo, hi) = 0.0, spans[0]
    for a, b in spans[1:]:
        if a > hi:
            total += (hi - lo).total_seconds()
            lo, hi = a, b
        else:
            hi = max(hi, b)
    return round(total + (hi - lo).total_seconds(), 3)


def compression_row(path: Path, kind: str = "compression") -> dict[str, Any]:
    """One row for a compression: the last step's test metric and parameters."""
    spec = read_yaml(path / "spec.yaml") or {}
    spec = spec if isinstance(spec, dict) else {}
    steps = step_dirs(path)
    rows = [run_row(d) for d in steps]
    running = [r for r in rows if r["status"] == "running"]
    if running:
        status, detail = "running", f"step {Path(running[0]['path']).name}"
    elif (path / "report.json").is_file():
        status, detail = "finished", ""
    elif rows:
        status, detail = "killed", (f"{sum(r['status'] == 'finished' for r in rows)} steps "
                                    f"done; resume: archopt compress SPEC --resume {path}")
    else:
        status, detail = "failed", "no step was written"
    last = next((r for r in reversed(rows) if r["status"] == "finished"), None) or {}
    metrics = read_json(Path(last["path"]) / "metrics.json") if last else None
    after = ((metrics or {}).get("compress") or {}).get("after") or {}
    return {"name": spec.get("name") or path.name, "kind": kind,
            "started": started_of(path, {}), "status": status, "detail": detail,
            "model": (spec.get("model") or {}).get("name"),
            "params": after.get("params", last.get("params")), "task": last.get("task"),
            "metric": f"test_{after['metric']}" if "metric" in after else last.get("metric"),
            "value": after.get("metric_value", last.get("value")),
            "epochs": None, "time_s": None, "steps": len(steps), "path": str(path)}


# kind -> row builder
ROW_BUILDERS: dict[str, Callable[[Path, str], dict[str, Any]]] = {
    "run": run_row, "study": study_row, "search": study_row, "compression": compression_row}


def describe(path: str | os.PathLike, kind: str | None = None) -> dict[str, Any]:
    """The row of one archopt folder; UserError when it is none."""
    p = Path(path)
    kind = kind or kind_of(p)
    if kind is None:
        raise UserError(str(p), "is not a run, study, search or compression folder",
                        "pass a folder made by `archopt train`, `tune`, `search` or `compress`")
    return ROW_BUILDERS.get(kind, run_row)(p, kind)


# filters: KEY OP VALUE, the longest operators first
_OPS: list[tuple[str, Callable[[Any, Any], bool]]] = [
    (">=", operator.ge), ("<=", operator.le), ("!=", operator.ne), ("=", operator.eq),
    (">", operator.gt), ("<", operator.lt)]


def parse_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate from ``status=finished``, ``model=cnn*``, ``value>0.9``, ``kind!=run``.

    ``=`` and ``!=`` match text with shell wildcards and accept several values separated by
    commas (``status=killed,failed``); ``<``, ``>``, ``<=``, ``>=`` compare numbers.
    """
    found = next(((o, fn) for o, fn in _OPS if o in text), None)
    if found is None:
        raise UserError(f"--filter {text}", "is not KEY=VALUE, KEY!=VALUE, KEY>N or KEY<N",
                        "example: --filter status=finished --filter 'value>0.9'")
    op_text, op = found
    key, _, want = text.partition(op_text)
    key, want = key.strip(), want.strip()
    if key not in COLUMNS + ["task", "detail"]:
        hint = suggest(key, COLUMNS) or f"columns: {', '.join(COLUMNS)}"
        raise UserError(f"--filter {text}", f"unknown column '{key}'", hint)
    if op_text in ("=", "!="):
        choices = want.split(",")

        def match(row: dict[str, Any]) -> bool:
            value = "" if row.get(key) is None else str(row[key])
            hit = any(fnmatch.fnmatchcase(value, c) or _same_number(row.get(key), c)
                      for c in choices)
            return hit if op_text == "=" else not hit
        return match
    try:
        number = float(want)
    except ValueError:
        raise UserError(f"--filter {text}", f"'{want}' is not a number",
                        f"{op_text} compares numbers; use = to match text") from None

    def compare(row: dict[str, Any]) -> bool:
        v = row.get(key)
        return isinstance(v, int | float) and op(v, number)
    return compare


def _same_number(value: Any, text: str) -> bool:
    try:
        return isinstance(value, int | float) and float(text) == value
    except ValueError:
        return False


def sort_rows(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Rows sorted by a column (``-value``: descending); empty values last either way."""
    desc = key.startswith("-")
    key = key.lstrip("-+")
    if key not in COLUMNS + ["task"]:
        hint = suggest(key, COLUMNS) or f"columns: {', '.join(COLUMNS)}"
        raise UserError(f"--sort {key}", "unknown column", hint)
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    numeric = all(isinstance(r[key], int | float) for r in present)
    present.sort(key=lambda r: r[key] if numeric else str(r[key]), reverse=desc)
    return present + missing


def list_runs(root: str | os.PathLike = "runs", filters: Iterable[str] = (),
              sort: str = "started") -> list[dict[str, Any]]:
    """Every run, study, search and compression under ``root``, one dict per row.

    Args:
        root: the folder to search (recursively); a run folder itself lists that run.
        filters: ``KEY=VALUE``-style filters (see ``parse_filter``), all must hold.
        sort: a column to sort by, ``-column`` for descending.

    Raises:
        UserError: when ``root`` is not a folder, or a filter or sort key is wrong.
    """
    path = Path(root)
    if not path.is_dir():
        raise UserError(str(path), "folder not found",
                        "pass the folder that holds your runs (default: runs)")
    predicates = [parse_filter(f) for f in filters]
    rows = []
    for folder, kind in find(path):
        row = describe(folder, kind)
        row["name"] = _relative(folder, path) or row["name"]
        if all(p(row) for p in predicates):
            rows.append(row)
    return sort_rows(rows, sort)


def _relative(folder: Path, root: Path) -> str:
    rel = os.path.relpath(folder, root)
    return "" if rel == "." else rel
