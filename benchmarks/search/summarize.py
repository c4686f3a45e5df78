"""Summarize finished ``archopt search`` studies side by side (for benchmarks/RESULTS.md): trials
by state, wall time, the most accurate model within the budgets after 8 / 12 / all trials, the
front's size, and the hypervolume of (val_accuracy up, latency_ms down) over every study's
trials in one common box, so two searches of one space compare at equal numbers of trials.

    .venv/bin/python benchmarks/search/summarize.py STUDY_DIR [STUDY_DIR ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def trials_of(path: Path) -> list:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    meta = json.loads((path / "study.json").read_text())
    study = optuna.load_study(study_name=meta["study"], storage=f"sqlite:///{path / 'study.db'}")
    return study.get_trials(deepcopy=False)


def hypervolume(points: list[tuple[float, float]], box: tuple[float, float, float, float]
                ) -> float:
    """2-D hypervolume of (accuracy, latency) points scaled to [0, 1] by ``box``."""
    amin, amax, lmin, lmax = box
    pts = sorted(((a - amin) / (amax - amin or 1), (lmax - lat) / (lmax - lmin or 1))
                 for a, lat in points)
    hv, best_y = 0.0, 0.0
    for i in range(len(pts) - 1, -1, -1):  # sweep from the most accurate down
        x, y = pts[i]
        if y > best_y:
            hv += x * (y - best_y)
            best_y = y
    return hv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("studies", nargs="+", type=Path)
    args = ap.parse_args()
    from archopt.tune.outputs import feasible

    data = {p: trials_of(p) for p in args.studies}
    pts = [(t.values[0], t.values[1]) for ts in data.values() for t in feasible(ts)]
    box = (min(a for a, _ in pts), max(a for a, _ in pts), min(lat for _, lat in pts),
           max(lat for _, lat in pts))
    print("| study | complete | rejected before training | pruned (ASHA) | failed | "
          "trial wall s (sum) | best val acc @8 / @12 / all | front | hypervolume @8 / @12 / all |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---|")
    for path, ts in data.items():
        states = [t.state.name for t in ts]
        rejected = sum(1 for t in ts if "rejected" in str(t.user_attrs.get("reason")))
        pruned = states.count("PRUNED") - rejected
        retried = {n for t in ts for n in t.system_attrs.get("retry_history", [])}
        failed = sum(1 for t in ts if t.state.name == "FAIL" and t.number not in retried)
        wall = sum(t.user_attrs.get("wall_s") or 0 for t in ts)
        best, hv = [], []
        for k in (8, 12, len(ts)):
            ok = feasible(ts[:k])
            best.append(f"{max(t.values[0] for t in ok):.3f}" if ok else "-")
            hv.append(f"{hypervolume([(t.values[0], t.values[1]) for t in ok], box):.3f}"
                      if ok else "-")
        front = json.loads((path / "front.json").read_text())["front"] \
            if (path / "front.json").is_file() else []
        print(f"| {path.name} | {states.count('COMPLETE')} | {rejected} | {pruned} | {failed} | "
              f"{wall:.0f} | {' / '.join(best)} | {len(front)} | {' / '.join(hv)} |")


if __name__ == "__main__":
    main()
