"""``data.classes`` and ``data.per_class``: a dataset restricted to some of its classes (renumbered
0..k-1) and to a few labelled training examples per class, for transfer and few-shot learning.

Applied after normalization, so the statistics are those of the whole training split (inputs
only, no labels): a model pretrained on some classes and one trained on the others see inputs
scaled the same way, and a run's encoder can embed the held-out classes as it was trained to.
"""

from __future__ import annotations

import torch

from archopt.data.dataset import Dataset, Split
from archopt.data.split import take
from archopt.errors import UserError


def select(ds: Dataset, classes: list[int] | None, per_class: int | None, seed: int) -> Dataset:
    """Keep ``classes`` (in this order) in every split, then ``per_class`` training examples of
    each, drawn with ``seed``. Returns ``ds`` changed in place."""
    if classes is None and per_class is None:
        return ds
    if ds.task != "classification":
        field = "data.classes" if classes is not None else "data.per_class"
        raise UserError(field, f"applies to classification data, and {ds.name} is {ds.task}",
                        "remove it")
    for name in ("train", "val", "test"):
        if getattr(ds, name) is not None and not isinstance(getattr(ds, name), Split):
            raise UserError("data.classes", "needs data held in memory, not streamed",
                            "remove data.classes / data.per_class for streamed data")
    if classes is not None:
        _keep_classes(ds, classes)
    if per_class is not None:
        ds.train = take(ds.train, labelled_indices(ds.train.y, per_class, seed))
    return ds


def labelled_indices(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """The training examples ``data.per_class`` keeps (seeded), as sorted indices into ``y``."""
    return per_class_indices(y, per_class, torch.Generator().manual_seed(int(seed) + 7919))


def _keep_classes(ds: Dataset, classes: list[int]) -> None:
    n = len(ds.class_names)
    bad = [c for c in classes if not 0 <= c < n]
    if bad or len(set(classes)) != len(classes) or len(classes) < 2:
        raise UserError("data.classes", f"is {classes}: give two or more distinct class numbers "
                        f"between 0 and {n - 1}", f"{ds.name} has {n} classes: "
                        + ", ".join(f"{i}={c}" for i, c in enumerate(ds.class_names[:12])))
    old_to_new = torch.full((n,), -1, dtype=torch.int64)
    old_to_new[torch.tensor(classes)] = torch.arange(len(classes))
    for name in ("train", "val", "test"):
        split = getattr(ds, name)
        if split is None:
            continue
        idx = torch.nonzero(old_to_new[split.y] >= 0).flatten()
        kept = take(split, idx)
        setattr(ds, name, Split(kept.x, old_to_new[kept.y], kept.lengths))
    ds.class_names = [ds.class_names[c] for c in classes]


def per_class_indices(y: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """Sorted indices of ``k`` examples of every class in ``y`` (all of a smaller class)."""
    picked = []
    for c in torch.unique(y):
        members = torch.nonzero(y == c).flatten()
        picked.append(members[torch.randperm(len(members), generator=gen)[:k]])
    return torch.sort(torch.cat(picked)).values
