"""Write a study directory in the format of ``archopt.tune.study_dir`` (spec.yaml, study.json,
trials.csv, best.json, best.yaml, plots/, trials/NNNN/ run directories) from made-up trials, so
that the study and search reports are tested without running a study."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

BASE = {"name": "wine-tune", "seed": 0, "data": {"name": "wine"},
        "model": {"name": "mlp", "hidden": [16]},
        "train": {"epochs": 4, "optimizer": {"name": "adam", "lr": 0.01}}}


def write_study(root: Path, search: bool = False) -> Path:
    """Six trials: four complete, one pruned at epoch 2, one failed; a search has a second
    objective, params (min)."""
    objectives = {"val_accuracy": "maximize", **({"params": "minimize"} if search else {})}
    spec = {**BASE, "tune": {"space": {"train.optimizer.lr": {"float": [1e-4, 1e-1],
                                                              "log": True},
                                       "model.hidden": {"choice": [[8], [16], [32]]}},
                             "objectives": {k: v[:3] for k, v in objectives.items()},
                             "trials": 6}}
    root.mkdir(parents=True)
    (root / "spec.yaml").write_text(yaml.safe_dump(spec))
    (root / "study.json").write_text(json.dumps({"study": "wine-tune", "storage": "study.db",
                                                 "objectives": objectives, "format": 1}))
    (root / "study.db").write_bytes(b"")
    trials = [  # number, state, lr, hidden, accuracies per epoch
        (0, "COMPLETE", 0.01, [16], [0.6, 0.8, 0.9, 0.93]),
        (1, "COMPLETE", 0.001, [8], [0.4, 0.5, 0.6, 0.7]),
        (2, "PRUNED", 0.0001, [32], [0.2, 0.3]),
        (3, "COMPLETE", 0.05, [32], [0.7, 0.9, 0.95, 0.96]),
        (4, "FAIL", 0.1, [8], []),
        (5, "COMPLETE", 0.02, [8], [0.6, 0.85, 0.9, 0.91]),
    ]
    rows = []
    for n, state, lr, hidden, acc in trials:
        run = root / "trials" / f"{n:04d}"
        (run / "checkpoints").mkdir(parents=True)
        tspec = {**BASE, "model": {"name": "mlp", "hidden": hidden},
                 "train": {**BASE["train"], "optimizer": {"name": "adam", "lr": lr}}}
        (run / "spec.yaml").write_text(yaml.safe_dump(tspec))
        (run / "history.jsonl").write_text("".join(
            json.dumps({"epoch": e + 1, "train_loss": 1 - a / 2, "val_loss": 1 - a / 2,
                        "val_accuracy": a, "lr": lr}) + "\n" for e, a in enumerate(acc)))
        params = 13 * hidden[0] + hidden[0] + hidden[0] * 3 + 3
        status = {"COMPLETE": "finished", "PRUNED": "pruned", "FAIL": "failed"}[state]
        (run / "run.json").write_text(json.dumps({"kind": "run", "status": status,
                                                  "params": params, "model": "mlp"}))
        if state == "COMPLETE":
            (run / "metrics.json").write_text(json.dumps(
                {"val": {"accuracy": acc[-1]}, "test": {"accuracy": acc[-1] - 0.02},
                 "epochs": len(acc)}))
        value = acc[-1] if acc else None
        rows.append({"number": n, "state": state, "val_accuracy": value,
                     **({"params": params} if search else {}), "cost_params": params,
                     "cost_flops": 2 * params, "cost_latency_ms": 0.05,
                     "train.optimizer.lr": lr, "model.hidden": json.dumps(hidden),
                     "epochs": len(acc), "wall_s": 2.5, "overhead_s": 0.5,
                     "reason": {"PRUNED": "pruned at epoch 2", "FAIL": "loss is not finite"}
                     .get(state, ""), "run_dir": f"trials/{n:04d}"})
    with open(root / "trials.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in r.items()} for r in rows)

    def summary(r: dict) -> dict:
        return {"number": r["number"], "values": {k: r[k] for k in objectives},
                "params": {"train.optimizer.lr": r["train.optimizer.lr"],
                           "model.hidden": json.loads(r["model.hidden"])},
                "costs": {"params": r["cost_params"]}, "run_dir": r["run_dir"]}

    done = [r for r in rows if r["state"] == "COMPLETE"]
    best = max(done, key=lambda r: r["val_accuracy"])
    front = [r for r in done if not any(
        o["val_accuracy"] >= r["val_accuracy"] and o["cost_params"] <= r["cost_params"]
        and o is not r for o in done)] if search else None
    (root / "best.json").write_text(json.dumps(
        {"best": summary(best), "pareto_front": [summary(r) for r in front] if front else None}))
    (root / "best.yaml").write_text("# archopt train best.yaml\n" + yaml.safe_dump(BASE))
    plots = root / "plots"
    plots.mkdir()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 3))
    fig.subplots().barh(["lr", "hidden"], [0.7, 0.3])
    fig.savefig(plots / "param_importances.png")
    return root
