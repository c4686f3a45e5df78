"""A finished search's answer: the Pareto front as rows (each point's accuracy, params, FLOPs,
latency, its spec and its run), its members re-timed together, reference models beside it, and
the ``pareto.png`` plots.

The front is that of the study's feasible COMPLETE trials over all its objectives (the trials a
budget rejected never trained and are not on it). ``best.yaml`` (written by the engine) is the
front's member best on the first objective: with ``val_accuracy: max`` first, *the most accurate
model within the budgets*.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from archopt.spec.load import write_atomic

RULE = "the most accurate within the budgets (the front's best on the first objective)"
COST_COLUMNS = ("params", "flops", "latency_ms", "latency_spread", "throughput")


def _row(study_dir: Path, t: Any, names: list[str]) -> dict[str, Any]:
    costs = t.user_attrs.get("costs") or {}
    counts = {c: int(costs[c]) for c in ("params", "flops") if costs.get(c) is not None}
    return {"number": t.number, **{c: costs.get(c) for c in COST_COLUMNS},
            **dict(zip(names, t.values)), **counts,
            "params_chosen": t.params, "run_dir": t.user_attrs.get("run_dir"),
            "spec": str(Path(t.user_attrs.get("run_dir") or "") / "spec.yaml")}


def front_rows(study_dir: Path, study: Any, names: list[str], directions: list[str]
               ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the front, best first; every feasible complete trial) as plain rows."""
    from archopt.tune.outputs import best_trials, feasible

    trials = study.get_trials(deepcopy=False)
    front = best_trials(trials, directions)
    return ([_row(study_dir, t, names) for t in front],
            [_row(study_dir, t, names) for t in feasible(trials)])


def reference_rows(paths: list[str], metric: str) -> list[dict[str, Any]]:
    """Trained runs to show beside the front (``RUN_DIR`` or ``LABEL=RUN_DIR``): their
    ``metric`` (e.g. val_accuracy), named by the label or the run's spec name."""
    from archopt.errors import UserError

    out = []
    for p in paths:
        label, _, rest = p.partition("=")
        label, run = (label, Path(rest)) if rest and not Path(p).exists() else (None, Path(p))
        if not (run / "metrics.json").is_file() or not (run / "spec.yaml").is_file():
            raise UserError(f"--reference {p}", "not a finished run directory",
                            "pass a directory made by `archopt train` (with metrics.json)")
        metrics = json.loads((run / "metrics.json").read_text())
        split, m = metric.split("_", 1) if "_" in metric else ("val", metric)
        value = (metrics.get(split) or {}).get(m)
        spec = yaml.safe_load((run / "spec.yaml").read_text())
        out.append({"name": label or spec.get("name", run.name), metric: value,
                    "run_dir": str(run),
                    "spec": str(run / "spec.yaml")})
    return out


def remeasure(study_dir: Path, rows: list[dict[str, Any]], refs: list[dict[str, Any]],
              options: dict[str, Any]) -> None:
    """Time the front's members and the references again, together, in interleaved rounds
    (round-robin), on the search's runtime (``options["runtime"]``: the references are timed
    where the candidates were), so their latencies are compared under the same load; adds
    ``latency_ms_again`` (and its spread), params and FLOPs to each row in place, and with a
    throughput batch (``options["throughput_batch"]``, timed in the same rounds)
    ``batch_latency_ms_again``, its spread and ``throughput_again``. A row that
    cannot run there (a model ONNX cannot export) gets ``latency_error`` instead of a time,
    and the others are timed as usual."""
    from archopt.data import load_data
    from archopt.errors import UserError
    from archopt.models import build_model
    from archopt.report.profile import count_flops, example_input
    from archopt.search.costs import device_of, on_runtime, threads, time_interleaved
    from archopt.spec import load_spec

    items = [(r, study_dir / r["spec"]) for r in rows] + [(r, Path(r["spec"])) for r in refs]
    models, inputs, shapes, timed_rows = [], [], {}, []
    for _row_, path in items:
        spec = load_spec(path, validate_plugins=False)
        key = json.dumps([spec.data.model_dump(mode="json"), spec.seed], sort_keys=True)
        if key not in shapes:  # one load per dataset, not per member
            shapes[key] = load_data(spec.data, spec.seed).shape
        shape = shapes[key]
        device = device_of(spec)
        model = build_model(spec.model, shape, seed=spec.seed).eval()
        if _row_.get("params") is None:
            _row_["params"] = sum(p.numel() for p in model.parameters())
        if _row_.get("flops") is None:
            _row_["flops"] = int(count_flops(model, example_input(model, shape, 1))[0])
        if (options.get("runtime") or "torch") != "torch":
            device = "cpu"  # an ONNX Runtime CPU session
        model = model.to(device)
        batches = [options["batch_size"], *([options["throughput_batch"]]
                                            if options.get("throughput_batch") else [])]
        try:
            timed, xs = on_runtime(model, [example_input(model, shape, b, device)
                                           for b in batches], options)
        except UserError as err:
            _row_["latency_error"] = err.what
            continue
        models.append(timed)
        inputs.append(xs)
        timed_rows.append(_row_)
    if not models:
        return
    with threads(options["threads"]):
        res = time_interleaved(models, inputs, options)
    for r, (s, *big) in zip(timed_rows, res):
        r["latency_ms_again"] = round(s["median"], 5)
        r["latency_spread_again"] = round(s["spread"], 4)
        if big:
            r["batch_latency_ms_again"] = round(big[0]["median"], 5)
            r["batch_latency_spread_again"] = round(big[0]["spread"], 4)
            r["throughput_again"] = round(options["throughput_batch"]
                                          / (big[0]["median"] / 1000.0), 1)


def write_front(study_dir: Path, rows: list[dict[str, Any]], refs: list[dict[str, Any]],
                names: list[str], runtime: dict[str, str] | None = None) -> Path:
    """front.json (rows, references, the rule behind best.yaml, ``latency_runtime``: what ran
    the candidates when timed) and front.csv."""
    import csv
    import io

    write_atomic(study_dir / "front.json", json.dumps(
        {"objectives": names, "rule": RULE, "latency_runtime": runtime, "front": rows,
         "references": refs}, indent=2, default=str) + "\n")
    cols = ["number", *names, *[c for c in COST_COLUMNS if c not in names],
            "latency_ms_again", "batch_latency_ms_again", "throughput_again", "run_dir",
            "params_chosen"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else
                    (json.dumps(r[c]) if isinstance(r[c], dict) else r[c]) for c in cols])
    write_atomic(study_dir / "front.csv", buf.getvalue())
    return study_dir / "front.json"
