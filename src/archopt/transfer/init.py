"""``model.init``: a model starts from the weights of a finished run.

The source run's model is rebuilt from its own directory (spec, data shape, checkpoint, with
``archopt.models.structure.rebuild``), then its state is matched to the new model name by name:

- a tensor of the same name and shape is loaded;
- the head (``model.init.head``, ``head`` by default) is new when ``parts: backbone`` asks for
  it, or when its shape differs (another number of classes or outputs): said in the report;
- any other tensor whose shape differs is an error naming the layer and both shapes (with
  ``strict: false`` it keeps its fresh initialization and is listed as skipped);
- an autoencoder's ``encoder`` is the backbone: its ``encoder.*`` tensors load into
  ``features.*`` (a classifier whose features are built like the encoder);
- a pruned run (``archopt compress``) lends its layer widths too (``adopt_widths``): the new
  model is resized to them, and its checkpoints carry the structure so they rebuild.

The report (``init.json`` in the new run) lists what was loaded, newly initialized and skipped.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError
from archopt.transfer.schema import InitSpec

WHERE = "model.init"


def source_state(init: InitSpec) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(the source run's model state, facts about it) for ``model.init.from``."""
    from archopt.data import DataShape
    from archopt.models.structure import rebuild
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec
    from archopt.train.checkpoint import checkpoint_path, load_checkpoint

    try:
        path = check_run_dir(init.from_)
    except UserError as exc:
        raise UserError(f"{WHERE}.from", f"{init.from_}: {exc.what}", exc.hint) from None
    ckpt = checkpoint_path(path, init.checkpoint)
    if not ckpt.is_file():
        raise UserError(f"{WHERE}.from", f"{ckpt} does not exist (the run has not saved "
                        "weights yet)", "wait for the run to finish, or point to another run")
    spec = load_spec(path / "spec.yaml", validate_plugins=False)
    shape = DataShape.from_dict(json.loads((path / "data_shape.json").read_text()))
    state = load_checkpoint(ckpt)
    if (state.get("structure") or {}).get("kind", "pruned") != "pruned":
        raise UserError(f"{WHERE}.from", f"{path} is an int8 run: it has no float weights to "
                        "start from", "point to the run it was quantized from")
    model = rebuild(spec, shape, state)
    facts = {"from": str(path), "checkpoint": str(ckpt), "model": spec.model.name,
             "outputs": shape.num_outputs, "task": getattr(model, "task", shape.task),
             "structure": state.get("structure")}
    sd = model.state_dict()
    if hasattr(model, "encoder") and not hasattr(model, "features"):  # an autoencoder
        sd = {"features." + k[len("encoder."):]: v for k, v in sd.items()
              if k.startswith("encoder.")}
        facts["renamed"] = "encoder.* -> features.*"
    return sd, facts


def check_head(model: nn.Module, head: str) -> None:
    """UserError unless ``head`` names a module of ``model``."""
    modules = dict(model.named_modules())
    if head and head in modules:
        return
    from archopt.errors import suggest

    top = [n for n, _ in model.named_children()]
    hint = suggest(head, list(modules)) or f"this model's top-level modules: {', '.join(top)}"
    raise UserError(f"{WHERE}.head", f"'{head}' is not a module of this "
                    f"{getattr(model, 'spec', {}).get('name', '')} model", hint)


def is_head(key: str, head: str) -> bool:
    return key == head or key.startswith(head + ".")


def load_init(model: nn.Module, init: InitSpec, seed: int = 0) -> dict[str, Any]:
    """Load ``init``'s run into ``model`` (in place); returns the load report.

    Raises:
        UserError: the run is missing or int8, the head is not a module of ``model``, the
            architectures differ (nothing of the backbone matches), or a layer that is not the
            head has another shape (unless ``strict`` is false).
    """
    check_head(model, init.head)
    src, facts = source_state(init)
    structure = facts.pop("structure", None)
    if structure and structure.get("kind") == "pruned" and init.strict:
        adopt_widths(model, structure, init.head, seed)  # a pruned run: its widths, its weights
        facts["pruned"] = True
    own = model.state_dict()
    loaded, new, skipped, reasons = [], [], [], {}
    for key, mine in own.items():
        theirs = src.get(key)
        if is_head(key, init.head):
            if init.parts == "backbone" or theirs is None or theirs.shape != mine.shape:
                new.append(key)
                continue
        elif theirs is None:
            new.append(key)
            continue
        elif theirs.shape != mine.shape:
            if init.strict:
                raise UserError(WHERE, f"layer {key} has shape {tuple(theirs.shape)} in "
                                f"{facts['from']} but {tuple(mine.shape)} in this model",
                                "build the model as the run's (its spec.yaml), or set "
                                "model.init.strict: false to keep this layer's fresh weights")
            skipped.append(key)
            reasons[key] = f"shape {tuple(theirs.shape)} in the run, {tuple(mine.shape)} here"
            continue
        own[key] = theirs.to(mine.dtype)
        loaded.append(key)
    backbone_new = [k for k in new if not is_head(k, init.head)]
    if not any(not is_head(k, init.head) for k in loaded):
        raise UserError(f"{WHERE}.from", f"{facts['from']} is a '{facts['model']}' model none "
                        f"of whose layers fit this '{model.spec.get('name')}' model (it has "
                        f"{_few(src)}; this model has {_few(own)})",
                        "start from a run of the same architecture")
    if backbone_new and init.strict:
        raise UserError(WHERE, f"{facts['from']} has no layer {backbone_new[0]} (nor "
                        f"{len(backbone_new) - 1} other layers of this model outside the head)",
                        "build the model as the run's (its spec.yaml), or set "
                        "model.init.strict: false to keep those layers' fresh weights")
    model.load_state_dict(own)
    unused = sorted(k for k in src if k not in own)
    head_note = _head_note(init, facts, model, new)
    return {**facts, "parts": init.parts, "loaded": loaded, "new": new,
            "skipped": skipped + unused, "skipped_why": {**reasons,
                                                         **{k: "not in this model"
                                                            for k in unused}},
            "head": head_note}


def adopt_widths(model: nn.Module, structure: dict[str, Any], head: str, seed: int) -> None:
    """Resize ``model`` to a pruned run's layer widths (``archopt compress``), keeping its own
    number of outputs; the resized head is initialized afresh (seeded) and ``model.
    init_structure`` records the widths, so the new run's checkpoints rebuild like a pruned
    run's (``models.structure.rebuild``)."""
    from archopt.models.structure import apply, capture

    fresh = copy.deepcopy(model)
    out_layer = [n for n, m in model.named_modules()
                 if is_head(n, head) and isinstance(m, nn.Linear)][-1:]
    mine = model.state_dict()
    shapes = {}
    for key, dims in structure.get("shapes", {}).items():
        if key not in mine:
            continue
        if out_layer and key.rpartition(".")[0] == out_layer[0]:
            dims = [mine[key].shape[0], *dims[1:]]  # this data's outputs
        shapes[key] = dims
    attrs = {name: {k: v for k, v in a.items()
                    if not (out_layer and name == out_layer[0] and k == "out_features")}
             for name, a in structure.get("attributes", {}).items()}
    apply(model, {"attributes": attrs, "shapes": shapes})
    with torch.random.fork_rng():
        torch.manual_seed(seed + 31)
        for name, m in model.named_modules():  # the resized head: fresh, not empty, weights
            if is_head(name, head) and hasattr(m, "reset_parameters"):
                m.reset_parameters()
    model.init_structure = capture(model, fresh)


def _few(sd: dict[str, Any], n: int = 3) -> str:
    keys = list(sd)
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def _head_note(init: InitSpec, facts: dict[str, Any], model: nn.Module, new: list[str]) -> str:
    if not any(is_head(k, init.head) for k in new):
        return "loaded"
    outputs = getattr(getattr(model, "shape", None), "num_outputs", None)
    if init.parts == "backbone":
        return f"new ({outputs} outputs; parts: backbone)"
    return (f"new: the run's head has {facts['outputs']} outputs, this data {outputs} "
            "(a fresh head was built)")


def summary(report: dict[str, Any]) -> str:
    """Two lines for the terminal: what was loaded, new and skipped."""
    lines = [f"init: {len(report['loaded'])} tensors loaded from {report['checkpoint']}"
             + (f" ({report['renamed']})" if report.get("renamed") else "")
             + (" at the pruned run's layer widths" if report.get("pruned") else "")
             + f"; head {report['head']}"]
    if report["new"] or report["skipped"]:
        lines.append(f"init: new {_few(dict.fromkeys(report['new']), 4) or 'none'}; skipped "
                     f"{_few(dict.fromkeys(report['skipped']), 4) or 'none'}")
    return "\n".join(lines)


def write_report(report: dict[str, Any], run_dir: Path) -> None:
    """``init.json`` in the new run."""
    from archopt.spec.load import write_atomic

    write_atomic(run_dir / "init.json", json.dumps(report, indent=2) + "\n")
