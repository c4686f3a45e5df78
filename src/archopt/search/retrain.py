"""``retrain(study_dir)``: the front's architectures trained again with the full budget.

A search trains each candidate briefly (few epochs, pruned early), which ranks architectures but
does not give their best accuracy. Once the front is known, each of its members (or those
asked for) is trained again from its trial's spec with the overrides given (``epochs``, any
``--set``), for one or several seeds (the trial's seed, then the next ones), each as an ordinary
run directory under ``STUDY/retrained/NNNN-seedS`` (or ``out``) that ``eval``, ``profile``,
``export`` and ``runs`` take. ``retrained.json`` sums up each member: its learning-curve
objective (``val_accuracy``, ...) on validation and test (mean and standard deviation over the
seeds) and its runs.

Killed and run again with the same arguments, it continues where it stopped: finished runs are
read back (not trained again), an interrupted run resumes from its last checkpoint (or starts
again when it had none), so the result is the same as an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec.load import write_atomic


def retrain(study_dir: str | os.PathLike, *, epochs: int | None = None, seeds: int = 1,
            members: list[int] | None = None, overrides: list[str] | tuple[str, ...] = (),
            out: str | os.PathLike | None = None, quiet: bool = False,
            progress: str = "auto") -> dict[str, Any]:
    """Train the front's architectures again; returns what ``retrained.json`` holds.

    Args:
        study_dir: a finished search (with ``front.json``).
        epochs: ``train.epochs`` of the new runs (default: the trial's).
        seeds: runs per member, seeded with the trial's seed, its seed + 1, ...
        members: trial numbers of the front to train (default: the whole front).
        overrides: ``KEY=VALUE`` spec overrides, as ``archopt train --set``.
        out: where the runs go (default ``STUDY/retrained``).
        quiet: no progress output (else one line per finished run; the runs train quietly).
        progress: ``auto``, ``bar`` or ``lines``.

    Raises:
        UserError: for a study without a front, a member not on it, a trial whose spec is not
            in this directory, or a bad override, before anything trains.
    """
    from archopt.tune.study_dir import check_study_dir

    path, _ = check_study_dir(study_dir)
    front = _front(path)
    rows = _chosen(front["front"], members)
    if seeds < 1:
        raise UserError("--seeds", "must be at least 1")
    if epochs is not None and epochs < 1:
        raise UserError("--epochs", "must be at least 1")
    metric = _metric(front["objectives"])
    folder = Path(out) if out is not None else path / "retrained"
    # 1) every spec first, so that a bad override or a missing trial trains nothing
    jobs = [(row, seed, spec) for row in rows for seed, spec in _specs(path, row, epochs, seeds,
                                                                       list(overrides))]
    # 2) the runs: read back when finished, resumed when interrupted, else trained
    done: dict[int, list[dict[str, Any]]] = {}
    for i, (row, seed, spec) in enumerate(jobs, 1):
        run = folder / f"{row['number']:04d}-seed{seed}"
        t0 = time.perf_counter()
        metrics, how = _train(spec, run, progress)
        scores = _scores(metrics, metric)
        done.setdefault(row["number"], []).append(
            {"seed": seed, "run_dir": str(run), "how": how, **scores})
        if not quiet:
            print(f"[{i}/{len(jobs)}] trial {row['number']} seed {seed}: {how} in "
                  f"{time.perf_counter() - t0:.1f} s, {metrics.get('epochs')} epochs, val "
                  f"{_fmt(scores['val'])}, test {_fmt(scores['test'])} -> {run}", flush=True)
    result = {"study_dir": str(path), "metric": metric, "epochs": epochs, "seeds": seeds,
              "members": [_summary(row, done[row["number"]], metric) for row in rows]}
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "retrained.json", json.dumps(result, indent=2) + "\n")
    result["summary_json"] = str(folder / "retrained.json")
    return result


def _metric(objectives: list[str]) -> str:
    """The front's learning-curve objective (val_accuracy, ...): the first that is no cost."""
    from archopt.tune.objectives import Objective

    return next((o for o in objectives if not Objective(o, "maximize").is_cost), objectives[0])


def _front(path: Path) -> dict[str, Any]:
    f = path / "front.json"
    if not f.is_file():
        raise UserError(str(path), "has no front.json (not a search, or it did not finish)",
                        f"finish it first: archopt search --resume {path}")
    front = json.loads(f.read_text())
    if not front.get("front"):
        raise UserError(str(f), "the front is empty: no candidate completed within the budgets",
                        "loosen search.constraints or run more trials")
    return front


def _chosen(front: list[dict[str, Any]], members: list[int] | None) -> list[dict[str, Any]]:
    if not members:
        return front
    on = {r["number"]: r for r in front}
    off = [m for m in members if m not in on]
    if off:
        raise UserError("--members", f"trial {off[0]} is not on the front",
                        f"choose among: {', '.join(str(n) for n in on)}")
    return [on[m] for m in members]


def _specs(path: Path, row: dict[str, Any], epochs: int | None, seeds: int,
           overrides: list[str]) -> list[tuple[int, Any]]:
    """(seed, spec) for each run of one member: its trial's spec with the overrides."""
    from archopt.spec import load_spec

    spec_path = path / row["spec"]
    if not spec_path.is_file():
        raise UserError(f"trial {row['number']}", f"its spec is not here ({spec_path}); it ran "
                        "on another machine of a shared study", "retrain it from that "
                        "machine's study directory")
    sets = [*overrides, *([f"train.epochs={epochs}"] if epochs is not None else [])]
    first = load_spec(spec_path, sets)
    return [(first.seed + i, first.model_copy(update={"seed": first.seed + i}))
            for i in range(seeds)]


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def _train(spec: Any, run: Path, progress: str) -> tuple[dict[str, Any], str]:
    """metrics.json of ``run``: read back if finished with this spec, else trained."""
    from archopt.spec import load_spec
    from archopt.train import fit

    if (run / "metrics.json").is_file():
        saved = load_spec(run / "spec.yaml", validate_plugins=False)
        if saved.model_dump(mode="json") != spec.model_dump(mode="json"):
            raise UserError(str(run), "was trained with another spec (other epochs or --set)",
                            "pass --out to retrain into a new folder")
        return json.loads((run / "metrics.json").read_text()), "reused"
    if (run / "checkpoints" / "last.pt").is_file():
        fit(spec, resume=run, quiet=True, progress=progress)
        how = "resumed"
    else:
        if run.exists():  # killed before its first checkpoint: nothing to resume from
            shutil.rmtree(run)
        fit(spec, out=run, quiet=True, progress=progress)
        how = "trained"
    return json.loads((run / "metrics.json").read_text()), how


def _scores(metrics: dict[str, Any], metric: str) -> dict[str, Any]:
    name = metric.split("_", 1)[1] if metric.startswith(("val_", "train_")) else metric
    return {"val": (metrics.get("val") or {}).get(name),
            "test": (metrics.get("test") or {}).get(name),
            "epochs": metrics.get("epochs")}


def _summary(row: dict[str, Any], runs: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    def stats(key: str) -> dict[str, float | None]:
        xs = [r[key] for r in runs if r.get(key) is not None]
        if not xs:
            return {"mean": None, "std": None}
        return {"mean": round(statistics.fmean(xs), 6),
                "std": round(statistics.stdev(xs), 6) if len(xs) > 1 else 0.0}

    return {"number": row["number"], "search_" + metric: row.get(metric),
            "params": row.get("params"), "latency_ms": row.get("latency_ms_again") or
            row.get("latency_ms"), "val": stats("val"), "test": stats("test"), "runs": runs}


retrain_front = retrain  # the name archopt's top-level API uses (``archopt.retrain_front(dir)``)
