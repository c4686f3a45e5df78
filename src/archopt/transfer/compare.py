"""``compare_transfer(spec)``: the label-scarce comparison as one command (``archopt transfer``).

The spec is the downstream task (its data, usually some classes, and its model); ``model.init``
or ``from_`` names the pretrained run. For every labelled-examples-per-class count, seed and
recipe it trains one ordinary run:

- ``scratch``: the model from random weights;
- ``probe``: the run's backbone, frozen; only a new head trains (a linear probe for a linear
  head);
- ``finetune``: the run's backbone and a new head, all training (``train.transfer``'s
  ``backbone_lr`` and ``layer_decay`` apply);
- ``gradual``: the head alone first, then the backbone's blocks unfrozen one by one from the
  top (``train.transfer.gradual``, by default a quarter of the epochs for the head, then a
  block every eighth);
- ``selftrain``: the probe again, on its labels plus every other training example of the
  downstream classes that the ``probe`` run of the same labels and seed labels with
  probability >= 0.9 (``data.pseudo_labels``; self-training: the unlabelled images are used a
  second time). It needs that probe run, which is trained first.

Runs go to ``OUT/<recipe>/k<K>-s<seed>/``; a finished one is skipped and a killed one resumed,
so the whole comparison can be killed and run again. ``transfer.json`` holds each run's test
accuracy and each cell's mean and standard deviation over seeds.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from archopt.errors import UserError
from archopt.spec.schema import Spec

RECIPES = ("scratch", "probe", "finetune", "gradual", "selftrain")


def recipe_spec(spec: Spec, recipe: str, source: str, per_class: int, seed: int,
                root: Path | None = None) -> Spec:
    """The downstream spec for one recipe, label count and seed (``root``: the comparison's
    directory, where ``selftrain`` finds its probe run)."""
    s = spec.model_copy(deep=True)
    s.seed, s.data.per_class = seed, per_class
    s.name = f"{spec.name}-{recipe}-k{per_class}-s{seed}"
    t = s.train.transfer.model_dump() if s.train.transfer is not None else {}
    lr = {k: t[k] for k in ("backbone_lr", "layer_decay", "bn_eval") if k in t}
    if recipe == "scratch":
        s.model.init, s.train.transfer = None, None
        return Spec.model_validate(s.model_dump(by_alias=True))
    init = {"from": source, "parts": "backbone"}
    if spec.model.init is not None:
        init = {**spec.model.init.model_dump(by_alias=True), **init}
    epochs = s.train.epochs or 10
    transfer: dict[str, Any] = {}
    if recipe in ("probe", "selftrain"):
        transfer = {"freeze": ["backbone"]}
    elif recipe == "finetune":
        transfer = lr
    elif recipe == "gradual":
        gradual = t.get("gradual") or {"start": max(1, epochs // 4), "every": max(1, epochs // 8)}
        transfer = {**lr, "freeze": ["backbone"], "gradual": gradual}
    d = s.model_dump(by_alias=True)
    d["model"]["init"] = init
    d["train"]["transfer"] = transfer or None
    if recipe == "selftrain":
        probe = (root or Path(".")) / "probe" / f"k{per_class}-s{seed}"
        d["data"]["pseudo_labels"] = {"from": str(probe), "threshold": 0.9}
    return Spec.model_validate(d)


def test_accuracy(run: Path) -> float:
    m = json.loads((run / "metrics.json").read_text())
    return float(m["test"]["accuracy"])


def compare_transfer(spec: Spec, *, from_: str | None = None, recipes: list[str] | None = None,
             per_class: list[int] | None = None, seeds: list[int] | None = None,
             out: str | Path | None = None, quiet: bool = True) -> dict[str, Any]:
    """Train every recipe x labels-per-class x seed and tabulate the test accuracy.

    Args:
        spec: the downstream spec (classification).
        from_: the pretrained run (default: the spec's ``model.init.from``).
        recipes: some of scratch, probe, finetune, gradual, selftrain (default all five;
            selftrain trains probe too).
        per_class: labelled training examples per class (default ``data.per_class`` or
            1, 5, 10).
        seeds: one run per seed (default the spec's seed).
        out: the comparison's directory (default ``runs/<name>-transfer``).
        quiet: no per-run progress.
    """
    from archopt.train import fit

    source = from_ or (spec.model.init.from_ if spec.model.init is not None else None)
    if source is None:
        raise UserError("--from", "no pretrained run is given", "pass --from RUN_DIR or set "
                        "model.init.from in the spec")
    recipes = list(recipes or RECIPES)
    bad = [r for r in recipes if r not in RECIPES]
    if bad:
        from archopt.errors import suggest

        raise UserError("--recipes", f"'{bad[0]}' is not a recipe",
                        suggest(bad[0], RECIPES) or "recipes: " + ", ".join(RECIPES))
    if "selftrain" in recipes and "probe" not in recipes:
        recipes.insert(recipes.index("selftrain"), "probe")  # selftrain's labeller
    recipes.sort(key=RECIPES.index)  # probe before selftrain
    counts = per_class or ([spec.data.per_class] if spec.data.per_class else [1, 5, 10])
    seeds = seeds if seeds is not None else [spec.seed]
    root = Path(out) if out is not None else Path("runs") / f"{spec.name}-transfer"
    # every spec first, so that a mistake stops the comparison before any training
    plan = [(r, k, sd, recipe_spec(spec, r, source, k, sd, root))
            for k in counts for r in recipes for sd in seeds]
    rows = []
    for recipe, k, sd, s in plan:
        run = root / recipe / f"k{k}-s{sd}"
        if not (run / "metrics.json").is_file():
            resume = run if (run / "checkpoints" / "last.pt").is_file() else None
            if resume is None and run.exists():
                import shutil

                shutil.rmtree(run)  # killed before its first checkpoint
            fit(s, out=None if resume else run, resume=resume, quiet=quiet)
        rows.append({"recipe": recipe, "per_class": k, "seed": sd, "run": str(run),
                     "test_accuracy": test_accuracy(run)})
    table = []
    for k in counts:
        for r in recipes:
            accs = [x["test_accuracy"] for x in rows if x["recipe"] == r and x["per_class"] == k]
            table.append({"recipe": r, "per_class": k, "mean": statistics.fmean(accs),
                          "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                          "seeds": len(accs)})
    result = {"from": str(source), "out": str(root), "runs": rows, "table": table}
    from archopt.spec.load import write_atomic

    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / "transfer.json", json.dumps(result, indent=2) + "\n")
    return result
