"""Batches from an in-memory split by indexing a seeded permutation (no workers, no collate).

The order of epoch ``e`` is a pure function of ``(seed, e)``, so a run resumes from just
``(epoch, step)``: ``loader.set_epoch(e); loader.skip(step)``.

Distributed: a global batch has ``batch_size`` rows, the same for any number of processes; rank
``r`` of ``world_size`` takes rows ``r::world_size`` of every global batch, so the union of the
ranks' shards of step ``s`` is exactly the batch one process sees at step ``s``. Shards can
differ by one row; a final global batch smaller than ``world_size`` is dropped so that no rank
gets an empty batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import torch

from archopt.data.dataset import Split
from archopt.errors import UserError


class Batch(NamedTuple):
    """One batch. x (B, ...), y (B,) or (B, D), lengths (B,) or None."""

    x: torch.Tensor
    y: torch.Tensor
    lengths: torch.Tensor | None = None


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled order of epoch ``epoch``: a pure function of (n, seed, epoch), on CPU."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


class _Order:
    """Batch bookkeeping shared by the in-memory and the streaming loader."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int, drop_last: bool,
                 rank: int, world_size: int) -> None:
        if batch_size < 1:
            raise UserError("data.batch_size", f"must be at least 1 (got {batch_size})")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        if batch_size < world_size:
            raise UserError("data.batch_size", f"{batch_size} is smaller than the {world_size} "
                            "processes", "the global batch must give every process one example")
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.drop_last, self.rank, self.world_size = drop_last, rank, world_size
        self.epoch, self.step, self._start = 0, 0, 0

    def __len__(self) -> int:
        """Batches per epoch (the same on every rank)."""
        full, rest = divmod(self.n, self.batch_size)
        keep_rest = rest > 0 and not self.drop_last and rest >= self.world_size
        return full + int(keep_rest)

    def set_epoch(self, epoch: int) -> None:
        """Use the order of ``epoch`` from the next iteration on."""
        self.epoch = int(epoch)

    def skip(self, steps: int) -> None:
        """Start the next iteration at batch ``steps`` of the epoch (resume mid-epoch)."""
        self._start = int(steps)

    def state_dict(self) -> dict[str, int]:
        """Where the loader stands: the epoch and the batches of it already yielded."""
        return {"epoch": self.epoch, "step": self.step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.set_epoch(state["epoch"])
        self.skip(state["step"])

    def _indices(self, device: torch.device | None = None) -> Iterator[torch.Tensor]:
        """This rank's indices of each remaining batch of the current epoch, on ``device``."""
        order = (epoch_permutation(self.n, self.seed, self.epoch) if self.shuffle
                 else torch.arange(self.n))
        order = order.to(device) if device is not None else order  # one copy per epoch
        start, self._start = self._start, 0
        for step in range(start, len(self)):
            self.step = step + 1
            rows = order[step * self.batch_size:(step + 1) * self.batch_size]
            yield rows[self.rank::self.world_size]


class Loader(_Order):
    """In-memory batches of a split, moved to ``device`` once.

    Args:
        split: the examples; a split with a ``make_loader`` method (``StreamingSplit``)
            returns that loader instead.
        batch_size: the global batch size (all processes together).
        shuffle: a new seeded order every epoch (else the split's order).
        seed: with the epoch, fixes the order.
        drop_last: drop a final incomplete batch.
        rank, world_size: this process's shard (see the module docstring).
        device: where batches are made.
    """

    def __new__(cls, split: Any, *args: Any, **kwargs: Any) -> Any:
        # a split that is not in memory (a StreamingSplit) makes its own loader; asking it,
        # rather than importing it, keeps this module below the streaming one
        if cls is Loader and hasattr(split, "make_loader"):
            return split.make_loader(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, split: Split, batch_size: int, *, shuffle: bool, seed: int,
                 drop_last: bool = False, rank: int = 0, world_size: int = 1,
                 device: str | torch.device = "cpu") -> None:
        super().__init__(len(split), batch_size, shuffle, seed, drop_last, rank, world_size)
        self.device = torch.device(device)
        self.x = split.x.to(self.device)
        self.y = split.y.to(self.device)
        self.lengths = split.lengths.to(self.device) if split.lengths is not None else None

    def __iter__(self) -> Iterator[Batch]:
        for idx in self._indices(self.device):
            lengths = self.lengths[idx] if self.lengths is not None else None
            yield Batch(self.x[idx], self.y[idx], lengths)


def batches_per_epoch(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Batches of one epoch of ``n`` examples on one process."""
    return n // batch_size if drop_last else math.ceil(n / batch_size)
