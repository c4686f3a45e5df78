"""``show(study_dir)``: a finished or running study read back from its directory and storage:
counts by state, the best trial (or the Pareto front) and the trials ranked."""

from __future__ import annotations

import os
from typing import Any

from archopt.tune import storage as st
from archopt.tune.outcomes import REJECTED, SURPLUS
from archopt.tune.outputs import best_trials
from archopt.tune.study_dir import check_study_dir


def show(study_dir: str | os.PathLike, storage: str | None = None) -> dict[str, Any]:
    """The study's summary as plain data (what ``archopt tune show DIR --json`` prints)."""
    import optuna

    path, meta = check_study_dir(study_dir)
    url = storage or meta.get("storage_url") or st.default_url(path)
    if meta.get("storage") not in (None, "study.db") and not storage and \
            not meta.get("storage_url"):
        from archopt.errors import UserError

        raise UserError(str(path), f"the study lives in {meta['storage']}",
                        "pass --storage URL (with its password)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=meta["study"], storage=st.open_storage(url, 10, 0))
    names = list(meta["objectives"])
    dirs = list(meta["objectives"].values())
    # a surplus trial (asked for beyond tune.trials, never run) is not a trial of the study
    trials = [t for t in study.get_trials(deepcopy=False) if not t.user_attrs.get(SURPLUS)]
    counts: dict[str, int] = {}
    for t in trials:
        state = "rejected" if t.user_attrs.get(REJECTED) else t.state.name.lower()
        counts[state] = counts.get(state, 0) + 1
    best = best_trials(trials, dirs)
    done = [t for t in trials if t.values is not None]
    rev = dirs[0] == "maximize"
    done.sort(key=lambda t: (-t.values[0] if rev else t.values[0]))

    def row(t: Any) -> dict[str, Any]:
        state = "rejected" if t.user_attrs.get(REJECTED) else t.state.name.lower()
        return {"number": t.number, "state": state,
                "values": dict(zip(names, t.values)) if t.values else None,
                "params": t.params, "epochs": t.user_attrs.get("epochs"),
                "wall_s": t.user_attrs.get("wall_s"), "run_dir": t.user_attrs.get("run_dir"),
                "reason": t.user_attrs.get("reason")}

    overheads = [t.user_attrs["overhead_s"] for t in trials if "overhead_s" in t.user_attrs]
    cpu = [t.user_attrs["overhead_cpu_s"] for t in trials if "overhead_cpu_s" in t.user_attrs]
    return {"study_dir": str(path), "study": meta["study"], "storage": meta.get("storage"),
            "objectives": meta["objectives"], "counts": counts,
            "best": row(best[0]) if best else None,
            "pareto_front": [row(t) for t in best] if len(names) > 1 else None,
            "ranked": [row(t) for t in done],
            "failed": [row(t) for t in trials if t.state.name == "FAIL"],
            "mean_overhead_s": round(sum(overheads) / len(overheads), 4) if overheads else None,
            "mean_overhead_cpu_s": round(sum(cpu) / len(cpu), 4) if cpu else None,
            "plots": sorted(p.name for p in (path / "plots").glob("*.png")),
            "best_yaml": str(path / "best.yaml") if (path / "best.yaml").is_file() else None}
