"""``robustness(RUN_DIR)``: how a trained run holds up under noise, corruptions and attacks.

1) load the run (any run: trained, tuned, pruned, int8, fine-tuned) and its data, undo the
   normalization so that the inputs are the user's raw values, find the valid range;
2) measure (``archopt.robust.measure``): noise curves, attack curves at an epsilon grid, the
   strongest attack per example, per-class accuracy, the first flips, gradient-masking checks;
3) write ``robustness.json`` and ``robustness.png`` into ``RUN_DIR/robustness/`` (or ``out``),
   where ``archopt report RUN_DIR`` finds them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import torch

from archopt.errors import UserError, suggest
from archopt.robust.domain import RawInputLogits, data_domain, has_gradient
from archopt.robust.measure import ATTACKS, Settings, measure
from archopt.robust.noise import CORRUPTIONS, for_kind

RESULT_DIR = "robustness"


def parse_list(value: str | list[str] | None, known: list[str], flag: str,
               default: list[str]) -> list[str]:
    """``all`` / ``none`` / a comma list of names (checked) into a list."""
    if value is None or value == "all":
        return list(default)
    if value == "none" or value == []:
        return []
    names = value.split(",") if isinstance(value, str) else list(value)
    for n in names:
        if n not in known:
            raise UserError(flag, f"unknown name '{n}'",
                            suggest(n, known) or f"choose from {', '.join(known)}")
    return names


def check_eps(eps: list[float] | None, limit: float, flag: str, what: str) -> None:
    """Epsilons must be >= 0 and no larger than the data's whole range (``limit``)."""
    for e in eps or []:
        if not 0 <= e <= limit * (1 + 1e-6):
            raise UserError(flag, f"epsilon {e:g} is outside the data's range: {what} allow "
                            f"0 to {limit:.4g} in raw units",
                            "give epsilons in the data's own units, or fractions of its range "
                            "with --relative")


def robustness(run_dir: str | Path, noise: str | list[str] | None = None,
               attack: str | list[str] | None = None, eps: list[float] | None = None,
               eps_l2: list[float] | None = None, relative: bool = False,
               split: str = "test", out: str | Path | None = None, limit: int | None = 1000,
               steps: int = 20, restarts: int = 1, seed: int = 0, value_range: str = "auto",
               checks: bool = True) -> dict[str, Any]:
    """Measure a run's robustness and write ``robustness.json`` and ``robustness.png``.

    Args:
        run_dir: a finished run directory.
        noise: ``all`` (default: every corruption for the data's kind), ``none``, or names.
        attack: ``all`` (default: fgsm, pgd, pgd-l2, apgd-ce, apgd-dlr), ``none``, or names.
        eps, eps_l2: L-inf and L2 epsilon grids in raw units (fractions of the data's range
            with ``relative``); None: the default grids.
        split: the split measured (test, val or train); ``limit`` its first N examples.
        steps, restarts: PGD's iterations and restarts.
        value_range: the valid range: ``auto``, ``none`` or ``LO:HI``.

    Returns:
        The measurements (what robustness.json holds), with ``out_dir``.
    """
    from archopt.compress.runs import finished_run, load_run

    if steps < 1 or restarts < 1:
        raise UserError("--steps" if steps < 1 else "--restarts", "must be at least 1")
    if limit is not None and limit < 1:
        raise UserError("--limit", "must be at least 1")
    path = finished_run(run_dir, "RUN_DIR")
    spec, data, _, model = load_run(path)
    from archopt.train.evaluate import check_normalization
    from archopt.train.setup import set_threads

    set_threads(spec.train.threads, 1)  # the run's own (1 thread is far faster on a busy CPU)

    check_normalization(path / "normalization.json", data.normalization)
    shape = data.shape
    if shape.task != "classification":
        raise UserError("RUN_DIR", f"{path} is a {shape.task} run; robustness measures "
                        "classification accuracy", "pass a classification run")
    chosen = getattr(data, split, None)
    if chosen is None or len(chosen) == 0 or not hasattr(chosen, "x"):
        raise UserError("--split", f"this run's data has no in-memory {split} split",
                        "use test, or train; val needs data.val_split > 0")
    f = RawInputLogits(model, shape.kind, data.normalization)
    # 1) raw inputs and their valid range
    with torch.no_grad():
        raw_train = f.denormalize(data.train.x)
        x = f.denormalize(chosen.x[:limit])
    y = chosen.y[:limit]
    if chosen.lengths is not None:
        raise UserError("RUN_DIR", "variable-length sequences are not supported by "
                        "robustness yet", "pad the sequences to one length")
    domain = data_domain(raw_train, shape.kind, value_range)
    x = domain.clamp(x)  # float round-off of the normalization round trip
    feature_std = feature_spread(raw_train, shape.kind)
    kinds = for_kind(shape.kind)
    names = parse_list(noise, list(CORRUPTIONS), "--noise", kinds)
    wrong_kind = [n for n in names if n not in kinds]
    if wrong_kind:
        raise UserError("--noise", f"{', '.join(wrong_kind)} does not apply to {shape.kind} "
                        "data", f"for {shape.kind} data use {', '.join(kinds)}")
    default_attacks = [a for a in ATTACKS if not a.startswith("apgd") or art_installed()]
    if shape.num_outputs < 3:
        default_attacks = [a for a in default_attacks if a != "apgd-dlr"]
    attacks = parse_list(attack, list(ATTACKS), "--attack", default_attacks)
    if attacks and not has_gradient(model):
        raise UserError("--attack", f"{path} holds an int8 ONNX Runtime model, which has no "
                        "gradient to attack",
                        f"measure its noise robustness: archopt robustness {path} --attack "
                        "none; or attack the float run it was quantized from")
    if "apgd-dlr" in attacks and shape.num_outputs < 3:
        raise UserError("--attack", "apgd-dlr needs three classes or more", "use apgd-ce")
    scale = domain.span if relative else 1.0
    eps = [e * scale for e in eps] if eps is not None else None
    eps_l2 = [e * scale for e in eps_l2] if eps_l2 is not None else None
    dims = float(x[0].numel())
    check_eps(eps, domain.span, "--eps", "L-inf epsilons")
    check_eps(eps_l2, domain.span * dims ** 0.5, "--eps-l2", "L2 epsilons")
    settings = Settings(noise=names, attacks=attacks, eps=sorted(eps) if eps else None,
                        eps_l2=sorted(eps_l2) if eps_l2 else None, steps=steps,
                        restarts=restarts, seed=seed, batch_size=max(spec.data.batch_size, 256),
                        checks=checks)
    # 2) measure
    start = time.perf_counter()
    result = measure(f, x, y, shape.kind, shape.num_outputs, domain, feature_std, settings)
    result = {"run_dir": str(path), "split": split, "kind": shape.kind, "seed": seed,
              "steps": steps, "restarts": restarts,
              "class_names": list(data.class_names), **result,
              "time_s": round(time.perf_counter() - start, 2)}
    # 3) write
    folder = Path(out) if out is not None else path / RESULT_DIR
    write_results(result, folder, f"{spec.name}: {path.name}")
    return {**result, "out_dir": str(folder)}


def feature_spread(raw: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-channel (image) or per-feature std of the raw training inputs, broadcastable."""
    if kind == "image":
        return raw.std(dim=(0, 2, 3)).view(1, -1, 1, 1)
    if kind == "sequence":
        return raw.std(dim=(0, 1)).view(1, 1, -1)
    return raw.std(dim=0).view(1, -1)


def art_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("art") is not None


def write_results(result: dict[str, Any], folder: Path, title: str) -> None:
    """``robustness.json`` and ``robustness.png``, each written atomically."""
    from archopt.cli.output import to_jsonable
    from archopt.robust.plots import curves_figure, save_png
    from archopt.spec.load import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    save_png(curves_figure(result, title), folder / "robustness.png")
    write_atomic(folder / "robustness.json", json.dumps(to_jsonable(result), indent=2) + "\n")
