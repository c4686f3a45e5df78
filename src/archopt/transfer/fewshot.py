"""``fewshot(run)``: N-way K-shot accuracy on classes held out from training, as the few-shot
literature reports it: the mean over many episodes and its 95% interval (1.96 standard errors).

An episode draws ``ways`` of the held-out classes, ``shots`` support and ``queries`` query
examples of each (without overlap), and classifies every query by its nearest prototype (the
mean embedding of a class's support, squared Euclidean distance). The embedding is the run's
``features`` (made unit length by default, ``fewshot.normalize``: SimpleShot's L2N; ``cl2n``
first subtracts the mean embedding of the base classes' training examples) — a
prototypical network, a contrastive or supervised encoder, any trained run — and, always beside
it, the raw inputs (the data's own normalized values): the baseline a learned
encoder has to beat. Both are scored on the same episodes (one seeded draw).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch

from archopt.errors import UserError
from archopt.transfer.schema import FewShotSpec


def interval(accs: torch.Tensor) -> dict[str, float]:
    """Mean and the half-width of its 95% interval (normal approximation), in percent."""
    n = len(accs)
    std = float(accs.std(unbiased=True)) if n > 1 else 0.0
    return {"mean": round(100 * float(accs.mean()), 2),
            "ci95": round(100 * 1.96 * std / math.sqrt(n), 2)}


def episodes(y: torch.Tensor, fs: FewShotSpec, shots: int) -> list[tuple[torch.Tensor, ...]]:
    """The episodes' (support idx, support labels, query idx, query labels), seeded."""
    gen = torch.Generator().manual_seed(fs.seed * 1000 + shots)
    members = {c: torch.nonzero(y == c).flatten() for c in range(int(y.max()) + 1)}
    need = shots + fs.queries
    small = [c for c, m in members.items() if len(m) < need]
    if small:
        raise UserError("fewshot.queries", f"class {small[0]} has only "
                        f"{len(members[small[0]])} examples in this split; {shots}-shot "
                        f"episodes with {fs.queries} queries need {need}",
                        "use fewer queries (--queries) or another split (--split train)")
    out = []
    for _ in range(fs.episodes):
        chosen = torch.randperm(len(members), generator=gen)[: fs.ways].tolist()
        s, s_y, q, q_y = [], [], [], []
        for new, c in enumerate(chosen):
            m = members[c][torch.randperm(len(members[c]), generator=gen)[:need]]
            s.append(m[:shots])
            q.append(m[shots:])
            s_y.append(torch.full((shots,), new))
            q_y.append(torch.full((fs.queries,), new))
        out.append((torch.cat(s), torch.cat(s_y), torch.cat(q), torch.cat(q_y)))
    return out


def accuracy(emb: torch.Tensor, eps: list[tuple[torch.Tensor, ...]], ways: int) -> torch.Tensor:
    """Nearest-prototype accuracy of every episode on embeddings (N, D)."""
    from archopt.transfer.episodes import prototype_logits

    accs = []
    for s, s_y, q, q_y in eps:
        logits = prototype_logits(emb[s], s_y, emb[q], ways)
        accs.append((logits.argmax(1) == q_y).float().mean())
    return torch.stack(accs)


@torch.no_grad()
def embed(model: torch.nn.Module, x: torch.Tensor, batch: int = 512) -> torch.Tensor:
    model.eval()
    return torch.cat([model.features(x[i:i + batch]).flatten(1) for i in range(0, len(x),
                                                                             batch)])


def base_mean(model: torch.nn.Module, spec: Any, fs: FewShotSpec) -> torch.Tensor:
    """The mean embedding (D,) of the training split's base classes: every class of the data
    that is not held out (SimpleShot's centring; no held-out example, no test example)."""
    from archopt.data import load_data

    data = load_data(spec.data.model_copy(update={"classes": None, "per_class": None}),
                     spec.seed)
    held = torch.tensor(fs.classes)
    keep = ~torch.isin(data.train.y, held)
    if not bool(keep.any()):
        raise UserError("fewshot.normalize", "cl2n centres on the base classes' mean, and "
                        "every class is held out", "hold out fewer classes, or use l2")
    return embed(model, data.train.x[keep]).mean(0)


def resolve(spec: Any, overrides: dict[str, Any]) -> FewShotSpec:
    """The run's ``fewshot:`` section with the given fields replaced."""
    base = spec.fewshot.model_dump() if spec.fewshot is not None else {}
    given = {k: v for k, v in overrides.items() if v is not None}
    if "classes" not in base and "classes" not in given:
        raise UserError("fewshot.classes", "which classes are held out is not said",
                        "add a fewshot: {classes: [...]} section, or pass --classes 5,6,7,8,9")
    from pydantic import ValidationError

    try:
        return FewShotSpec.model_validate({**base, **given})
    except ValidationError as exc:
        from archopt.registry import config_error

        raise config_error(exc, "fewshot", FewShotSpec) from None


def fewshot(source: str | Path, *, classes: list[int] | None = None, ways: int | None = None,
            shots: list[int] | None = None, queries: int | None = None,
            episodes_n: int | None = None, split: str | None = None, seed: int | None = None,
            normalize: str | None = None, checkpoint: str = "headline", write: bool = True,
            overrides: Any = (), out: str | Path | None = None, quiet: bool = True
            ) -> dict[str, Any]:
    """N-way K-shot accuracy of a run's encoder and of the raw inputs on held-out classes.

    Args:
        source: a run directory (its spec's ``fewshot:`` section gives the defaults), or a
            spec file, trained first (into ``out``) with ``overrides``.
        classes, ways, shots, queries, episodes_n, split, seed, normalize: replace the
            section's fields.
        checkpoint: ``headline``, ``best`` or ``last``.
        write: also write ``fewshot.json`` into the run directory.

    Returns:
        ``{"run", "ways", "queries", "episodes", "classes", "split", "results": [{"shots",
        "encoder": {"mean", "ci95"}, "raw": {...}}]}``, accuracies in percent.
    """
    from archopt.data import DataShape, load_data
    from archopt.models.structure import rebuild
    from archopt.runs import check_run_dir
    from archopt.spec import load_spec
    from archopt.train.checkpoint import checkpoint_path, load_checkpoint
    from archopt.train.evaluate import check_normalization

    if Path(source).is_file():  # a spec: train it, then evaluate its run
        from archopt.train import fit

        spec = load_spec(source, list(overrides))
        if spec.fewshot is None and classes is None:
            resolve(spec, {})  # the error, before any training
        source = fit(spec, out=out, quiet=quiet)["run_dir"]
    path = check_run_dir(source)
    spec = load_spec(path / "spec.yaml")
    fs = resolve(spec, {"classes": classes, "ways": ways, "shots": shots, "queries": queries,
                        "episodes": episodes_n, "split": split, "seed": seed,
                        "normalize": normalize})
    ckpt = checkpoint_path(path, checkpoint)
    shape = DataShape.from_dict(json.loads((path / "data_shape.json").read_text()))
    model = rebuild(spec, shape, load_checkpoint(ckpt))
    if not hasattr(model, "features"):
        raise UserError(str(path), f"a '{spec.model.name}' model has no features to embed "
                        "with", "use a run of mlp, cnn, resnet, rnn, transformer or sequential")
    data_spec = spec.data.model_copy(update={"classes": fs.classes, "per_class": None})
    data = load_data(data_spec, spec.seed)
    check_normalization(path / "normalization.json", data.normalization)
    chosen = getattr(data, fs.split)
    if chosen is None or not len(chosen):
        raise UserError("fewshot.split", f"this run's data has no {fs.split} split",
                        "use test or train")
    emb, raw = embed(model, chosen.x), chosen.x.flatten(1)
    if fs.normalize == "cl2n":  # SimpleShot: centred on the base classes' mean, unit length
        emb = emb - base_mean(model, spec, fs)
    if fs.normalize in ("l2", "cl2n"):  # the raw baseline stays plain nearest class mean
        emb = torch.nn.functional.normalize(emb, dim=1)
    results = []
    for k in fs.shots:
        eps = episodes(chosen.y, fs, k)
        results.append({"shots": k, "encoder": interval(accuracy(emb, eps, fs.ways)),
                        "raw": interval(accuracy(raw, eps, fs.ways))})
    out = {"run": str(path), "checkpoint": str(ckpt), "normalize": fs.normalize,
           "ways": fs.ways, "queries": fs.queries,
           "episodes": fs.episodes, "classes": fs.classes, "split": fs.split,
           "examples": len(chosen), "results": results}
    if write:
        from archopt.spec.load import write_atomic

        write_atomic(path / "fewshot.json", json.dumps(out, indent=2) + "\n")
    return out
