"""Distillation on digits: the gallery digits ResNet (the teacher, trained once by
bench_compress.py's ``distill`` case) into small MLP students, over temperature, mixing weight,
training length and the hint (feature) loss, each beside the same student trained alone for
the same epochs. Prints one row per configuration with the share of the student-teacher gap it
closes: (distilled - alone) / (teacher - alone). On 359 test digits one example is 0.28 points,
so one seed says little: ``seeds`` runs configurations over five seeds (the student's
initialisation, validation split and batch order; the teacher stays), alone and distilled alike.

  nice -n 10 .venv/bin/python benchmarks/compress/bench_distill.py         # the one-seed grid
  nice -n 10 .venv/bin/python benchmarks/compress/bench_distill.py seeds   # SEED_PLAN, 5 seeds
  nice -n 10 .venv/bin/python benchmarks/compress/bench_distill.py seeds 'mlp[64]:100:2:0.5:1'
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "runs" / "bench-compress" / "distill-grid"
TEACHER = ROOT / "runs" / "bench-compress" / "distill" / "start"

STUDENTS = {"mlp[64]": {"name": "mlp", "hidden": [64]},
            "mlp[128]": {"name": "mlp", "hidden": [128]}}
# (temperature, alpha, hint weight or None)
CONFIGS = [(4.0, 0.7, None), (4.0, 0.9, None), (8.0, 0.9, None), (2.0, 0.5, None),
           (4.0, 1.0, None), (4.0, 0.9, 1.0)]
BEST = [(2.0, 0.5, None), (2.0, 0.5, 1.0)]  # the best of the grid above, with and without hint
# (student, epochs, configurations), in the order they run
PLAN = [("mlp[64]", 30, CONFIGS), ("mlp[128]", 30, BEST), ("mlp[64]", 100, BEST)]


def accuracy(run: Path) -> float:
    return json.loads((run / "metrics.json").read_text())["test"]["accuracy"]


def alone(student: dict[str, Any], epochs: int, label: str, seed: int | None = None) -> float:
    import archopt

    out = OUT / f"alone-{label}-{epochs}{_seeded(seed)}"
    if not (out / "metrics.json").is_file():
        spec = yaml_spec()
        spec.update(name="bench-student", model=student)
        if seed is not None:
            spec["seed"] = seed
        spec["train"]["epochs"] = epochs
        archopt.fit(archopt.load_spec(spec), out=out, quiet=True)
    return accuracy(out)


def yaml_spec() -> dict[str, Any]:
    import yaml

    spec = yaml.safe_load((TEACHER / "spec.yaml").read_text())
    spec.pop("compress", None)
    return spec


def _seeded(seed: int | None) -> str:
    return "" if seed is None else f"-s{seed}"  # None: the teacher's seed (42), the old names


def distilled(student: dict[str, Any], epochs: int, t: float, a: float, hint: float | None,
              label: str, seed: int | None = None) -> float:
    import archopt

    out = OUT / f"kd-{label}-{epochs}-T{t:g}-a{a:g}-h{hint or 0:g}{_seeded(seed)}"
    if not (out / "01-distill" / "metrics.json").is_file():
        step: dict[str, Any] = {"name": "distill", "student": student, "temperature": t,
                                "alpha": a, "epochs": epochs, "seed": seed}
        if hint:
            step["hint"] = {"weight": hint}
        spec = {"name": "bench-kd", "compress": {"repeats": 3, "batch_size": 16,
                                                 "steps": [step]}}
        if out.exists():
            archopt.compress(spec, resume=out, quiet=True)
        else:
            archopt.compress(spec, source=TEACHER, out=out, quiet=True)
    return accuracy(out / "01-distill")


SEEDS = [0, 1, 2, 3, 4]
# the configurations run over SEEDS: (student, epochs, temperature, alpha, hint weight or None)
SEED_PLAN = [("mlp[64]", 30, 2.0, 0.5, None), ("mlp[64]", 30, 2.0, 0.5, 1.0),
             ("mlp[64]", 100, 2.0, 0.5, None), ("mlp[64]", 100, 2.0, 0.5, 1.0),
             ("mlp[64]", 200, 2.0, 0.5, None),
             ("mlp[64]", 200, 2.0, 0.5, 1.0),  # examples/compress/digits_distill.yaml
             ("mlp[64]", 200, 4.0, 0.9, 1.0), ("mlp[64]", 300, 1.0, 1.0, None),
             ("mlp[64]", 300, 2.0, 0.5, 1.0), ("mlp[64]", 300, 2.0, 1.0, None),
             ("mlp[128]", 200, 2.0, 0.5, 1.0)]  # the table in benchmarks/RESULTS.md


def parse_config(text: str) -> tuple[str, int, float, float, float | None]:
    """``mlp[64]:100:2:0.5:1`` (student, epochs, T, alpha, hint weight; 0 or - for none)."""
    label, epochs, t, a, h = text.split(":")
    return label, int(epochs), float(t), float(a), None if h in ("0", "-") else float(h)


def grid(teacher: float) -> None:
    print("| student | epochs | T | alpha | hint | alone | distilled | gap closed | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, epochs, configs in PLAN:
        student = STUDENTS[label]
        base = alone(student, epochs, label)
        for t, a, hint in configs:
            start = time.perf_counter()
            acc = distilled(student, epochs, t, a, hint, label)
            closed = (acc - base) / (teacher - base) if teacher > base else float("nan")
            print(f"| {label} | {epochs} | {t:g} | {a:g} | {hint or '-'} | "
                  f"{100 * base:.1f} | {100 * acc:.1f} | {100 * closed:.0f}% | "
                  f"{time.perf_counter() - start:.0f} |", flush=True)


def seeds(teacher: float, plan: list[tuple[str, int, float, float, float | None]]) -> None:
    """Each configuration over SEEDS, the student alone with the same seed beside it: the mean
    and standard deviation of both, the gap closed by the means, and per seed (min..max)."""
    import statistics as st

    print(f"seeds {SEEDS}; gap closed = (mean distilled - mean alone) / (teacher - mean alone)")
    print("| student | epochs | T | alpha | hint | alone mean (sd) | distilled mean (sd) | "
          "gap closed (means) | per seed: min..max | seeds >= 50% | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, epochs, t, a, hint in plan:
        student = STUDENTS.get(label) or {"name": "mlp", "hidden": [int(label[4:-1])]}
        start = time.perf_counter()
        base = [alone(student, epochs, label, s) for s in SEEDS]
        acc = [distilled(student, epochs, t, a, hint, label, s) for s in SEEDS]
        per = [(d - b) / (teacher - b) for b, d in zip(base, acc, strict=True)]
        mb, md = st.mean(base), st.mean(acc)
        print(f"| {label} | {epochs} | {t:g} | {a:g} | {hint or '-'} | {100 * mb:.1f} "
              f"({100 * st.stdev(base):.1f}) | {100 * md:.1f} ({100 * st.stdev(acc):.1f}) | "
              f"{100 * (md - mb) / (teacher - mb):.0f}% | {100 * min(per):.0f}%..."
              f"{100 * max(per):.0f}% | {sum(c >= 0.5 for c in per)}/{len(per)} | "
              f"{time.perf_counter() - start:.0f} |", flush=True)


def main() -> None:
    """``bench_distill.py``: the one-seed grid; ``bench_distill.py seeds [CONFIG ...]``: the
    configurations (SEED_PLAN, or ``mlp[64]:100:2:0.5:1`` strings) over SEEDS."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine_info import describe

    if not (TEACHER / "metrics.json").is_file():
        sys.exit("train the teacher first: bench_compress.py distill")
    print(describe())
    teacher = accuracy(TEACHER)
    print(f"teacher (digits ResNet, 77,290 params): test accuracy {100 * teacher:.1f}%\n")
    if sys.argv[1:2] == ["seeds"]:
        seeds(teacher, [parse_config(c) for c in sys.argv[2:]] or SEED_PLAN)
    else:
        grid(teacher)


if __name__ == "__main__":
    main()
