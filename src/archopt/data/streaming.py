"""Data too large for memory: a split of image files streamed through a DataLoader.

``StreamingSplit`` stands where a ``Split`` would (``len``, ``y``, ``lengths``); ``Loader(split,
...)`` given one returns a ``StreamingLoader``, which has the Loader's interface and the same
order: epoch ``e``'s permutation is ``epoch_permutation(n, seed, e)``, sharded by rank the same
way, so resuming needs only (epoch, step).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from archopt.data.dataset import Dataset
from archopt.data.images import decode_image
from archopt.data.loader import Batch, _Order
from archopt.data.split import apply_normalization
from archopt.errors import UserError


class ImageFiles(torch.utils.data.Dataset):
    """Map-style dataset: decoded, resized images (C, H, W) and their labels."""

    def __init__(self, files: list[Path], labels: torch.Tensor, size: tuple[int, int],
                 grayscale: bool, resize: bool) -> None:
        self.files, self.labels, self.size = files, labels, size
        self.grayscale, self.resize = grayscale, resize

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        a = decode_image(self.files[i], self.size if self.resize else None, self.grayscale)
        if tuple(a.shape[1:]) != self.size:
            raise UserError(str(self.files[i]), f"is {a.shape[1]}x{a.shape[2]}, not "
                            f"{self.size[0]}x{self.size[1]}", "set data.image_size to resize")
        return torch.from_numpy(a), self.labels[i]


class StreamingSplit:
    """A split whose examples are read from disk batch by batch."""

    lengths = None

    def __init__(self, dataset: ImageFiles, num_workers: int = 0) -> None:
        self.dataset, self.num_workers = dataset, num_workers
        self.normalization: dict[str, Any] = {}

    @property
    def y(self) -> torch.Tensor:
        return self.dataset.labels

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1 if self.dataset.grayscale else 3, *self.dataset.size)

    def __len__(self) -> int:
        return len(self.dataset)

    def take(self, idx: torch.Tensor) -> StreamingSplit:
        d = self.dataset
        sub = ImageFiles([d.files[i] for i in idx.tolist()], d.labels[idx], d.size,
                         d.grayscale, d.resize)
        return StreamingSplit(sub, self.num_workers)

    def fit_normalization(self, batch_size: int = 256) -> dict[str, Any]:
        """Per-channel mean and std over this split, streamed once."""
        loader = DataLoader(self.dataset, batch_size=batch_size, num_workers=self.num_workers)
        total = sq = None
        count = 0
        for x, _ in _reraise(loader):
            s, q = x.double().sum(dim=(0, 2, 3)), (x.double() ** 2).sum(dim=(0, 2, 3))
            total, sq = (s, q) if total is None else (total + s, sq + q)
            count += x.shape[0] * x.shape[2] * x.shape[3]
        mean = total / count
        std = (sq / count - mean**2).clamp_min(0).sqrt()
        std = torch.where(std > 1e-8, std, torch.ones_like(std))
        return {"mean": mean.tolist(), "std": std.tolist()}

    def set_normalization(self, normalization: dict[str, Any]) -> None:
        self.normalization = normalization

    def make_loader(self, *args: Any, **kwargs: Any) -> StreamingLoader:
        """What ``Loader(split, ...)`` returns for this split: batches streamed from disk."""
        return StreamingLoader(self, *args, **kwargs)


def streaming_dataset(name: str, tr_files: list[Path], tr_y: list[int], te_files: list[Path],
                      te_y: list[int], classes: list[str], size: tuple[int, int],
                      cfg: Any) -> Dataset:
    """A Dataset whose train and test are StreamingSplits."""
    resize = cfg.image_size is not None

    def split(files: list[Path], ys: list[int]) -> StreamingSplit:
        labels = torch.tensor(ys, dtype=torch.int64)
        return StreamingSplit(ImageFiles(files, labels, size, cfg.grayscale, resize),
                              cfg.num_workers)

    train, test = split(tr_files, tr_y), split(te_files, te_y)
    return Dataset(name=name, kind="image", task="classification",
                   input_shape=train.input_shape, train=train, test=test,  # type: ignore[arg-type]
                   class_names=list(classes))


class _BatchOrder(Sampler[list[int]]):
    """Yields this rank's indices of each remaining batch (a batch sampler)."""

    def __init__(self, order: _Order) -> None:
        self.order = order

    def __iter__(self) -> Iterator[list[int]]:
        for idx in self.order._indices():
            yield idx.tolist()

    def __len__(self) -> int:
        return len(self.order)


def _reraise(loader: DataLoader) -> Iterator[Any]:
    """Iterate a DataLoader; a UserError raised in a worker comes back as a UserError."""
    try:
        yield from loader
    except RuntimeError as exc:
        text = str(exc)
        if "Caught UserError" not in text:
            raise
        last = [ln for ln in text.strip().splitlines() if ln.strip()][-1]
        last = last.split("UserError: ", 1)[-1]
        where, _, what = last.partition(": ")
        raise UserError(where, what or "cannot be read") from None


class StreamingLoader(_Order):
    """Batches of a ``StreamingSplit`` read by a DataLoader; the ``Loader`` interface."""

    def __init__(self, split: StreamingSplit, batch_size: int, *, shuffle: bool, seed: int,
                 drop_last: bool = False, rank: int = 0, world_size: int = 1,
                 device: str | torch.device = "cpu") -> None:
        super().__init__(len(split), batch_size, shuffle, seed, drop_last, rank, world_size)
        self.split, self.device = split, torch.device(device)
        self.loader = DataLoader(split.dataset, batch_sampler=_BatchOrder(self),
                                 num_workers=split.num_workers,
                                 pin_memory=self.device.type == "cuda")

    def __iter__(self) -> Iterator[Batch]:
        start = self._start
        for i, (x, y) in enumerate(_reraise(self.loader)):
            self.step = start + i + 1  # the sampler runs ahead of what was yielded
            x = x.to(self.device, non_blocking=True)                 # (B, C, H, W)
            x = apply_normalization(x, self.split.normalization)
            yield Batch(x, y.to(self.device, non_blocking=True), None)
