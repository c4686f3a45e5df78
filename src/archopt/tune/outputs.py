"""What a study hands back, written atomically into its directory: ``trials.csv``,
``best.yaml`` and ``best.json`` (see ``archopt.tune.study_dir`` for the format).

The best trial: with one objective, the best COMPLETE trial that meets every budget; with
several, the Pareto front of those (Optuna's ``best_trials`` over the feasible trials) and, for
``best.yaml``, the front's member that is best on the first objective.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import yaml

from archopt.spec.load import write_atomic
from archopt.tune.outcomes import REJECTED, SURPLUS
from archopt.tune.repeats import REPEAT_OF


def feasible(trials: list) -> list:
    """COMPLETE trials within every budget; a repeat (``archopt.tune.repeats``) is left out,
    its original stands for it."""
    from optuna.trial import TrialState

    return [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None
            and REPEAT_OF not in t.user_attrs
            and all(c <= 0 for c in t.system_attrs.get("constraints", []) or [])
            and all(v <= 0 for k, v in t.system_attrs.items()
                    if k.startswith("constraints:") and isinstance(v, int | float))]


def pareto(trials: list, directions: list[str]) -> list:
    """The non-dominated trials (directions: maximize/minimize per value)."""
    sign = [1.0 if d == "minimize" else -1.0 for d in directions]

    def key(t: Any) -> list[float]:
        return [s * v for s, v in zip(sign, t.values)]

    front = []
    for t in trials:
        a = key(t)
        dominated = any(all(x <= y for x, y in zip(key(o), a)) and key(o) != a for o in trials)
        if not dominated:
            front.append(t)
    return front


def best_trials(trials: list, directions: list[str]) -> list:
    """Best first: one trial for one objective, the front sorted by the first objective else."""
    ok = feasible(trials)
    if not ok:
        return []
    front = pareto(ok, directions)
    rev = directions[0] == "maximize"
    return sorted(front, key=lambda t: (-t.values[0] if rev else t.values[0], t.number))


def trials_csv(trials: list, objectives: list[str], params: list[str]) -> str:
    costs = ["params", "flops", "latency_ms"]
    cols = ["number", "state", *objectives, *[f"cost_{c}" for c in costs], *params,
            "epochs", "wall_s", "overhead_s", "overhead_cpu_s", "started", "finished", "reason",
            "run_dir"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for t in trials:
        ua = t.user_attrs
        if ua.get(SURPLUS):  # asked for beyond tune.trials and never run: not a trial
            continue
        vals = list(t.values) if t.values is not None else [None] * len(objectives)
        state = "REJECTED" if ua.get(REJECTED) else t.state.name
        row = [t.number, state, *vals,
               *[(ua.get("costs") or {}).get(c) for c in costs],
               *[_cell(t.params.get(p)) for p in params],
               ua.get("epochs"), ua.get("wall_s"), ua.get("overhead_s"), ua.get("overhead_cpu_s"),
               _stamp(t.datetime_start), _stamp(t.datetime_complete), ua.get("reason"),
               ua.get("run_dir")]
        w.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def _stamp(when: Any) -> str | None:
    """A trial's start or end as ISO 8601 with seconds' fractions (Optuna's local time)."""
    return when.isoformat(timespec="milliseconds") if when is not None else None


def _cell(v: Any) -> Any:
    return json.dumps(v) if isinstance(v, list | dict) else v


def write_outputs(study_dir: Path, study: Any, objectives: list[Any]) -> list:
    """trials.csv, best.yaml and best.json from the storage; returns the best trials."""
    trials = study.get_trials(deepcopy=False)
    names = [o.name for o in objectives]
    params: list[str] = []
    for t in trials:
        params += [p for p in t.params if p not in params]
    write_atomic(study_dir / "trials.csv", trials_csv(trials, names, params))
    best = best_trials(trials, [o.direction for o in objectives])
    if not best:
        return []
    top = best[0]
    spec_path = study_dir / top.user_attrs.get("run_dir", "") / "spec.yaml"
    if spec_path.is_file():
        data = yaml.safe_load(spec_path.read_text())
        data.pop("tune", None)
        data.pop("search", None)
        header = f"# archopt train {study_dir / 'best.yaml'}\n# trial {top.number} of study " \
                 f"{study.study_name}: " + ", ".join(
                     f"{n}={_num(v)}" for n, v in zip(names, top.values)) + "\n"
        write_atomic(study_dir / "best.yaml", header + yaml.safe_dump(data, sort_keys=False))
    summary = [{"number": t.number, "values": dict(zip(names, t.values)), "params": t.params,
                "costs": t.user_attrs.get("costs"), "run_dir": t.user_attrs.get("run_dir")}
               for t in best]
    write_atomic(study_dir / "best.json", json.dumps(
        {"best": summary[0], "pareto_front": summary if len(names) > 1 else None},
        indent=2, default=str) + "\n")
    return best


def _num(v: float) -> str:
    return f"{v:.6g}" if isinstance(v, float) and math.isfinite(v) else str(v)
