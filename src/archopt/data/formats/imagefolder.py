"""Image folders, one sub-folder per class (PNG, JPEG, ... via Pillow).

``{name: imagefolder, path: DIR}``: ``DIR/<class>/*.png``, or ``DIR/train/<class>/...`` and
``DIR/test/<class>/...``; without train/test sub-folders a fixed seeded split makes the test set.
Pixel values are scaled to [0, 1]. ``in_memory: false`` keeps only the file list and streams
batches through a ``torch.utils.data.DataLoader`` (see ``archopt.data.streaming``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from archopt.data.dataset import Dataset
from archopt.data.images import decode_image
from archopt.data.source import check_classes, existing, fixed_split, from_arrays
from archopt.data.streaming import streaming_dataset
from archopt.errors import UserError
from archopt.registry import DATASETS

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


class ImageFolderConfig(BaseModel):
    """A folder of class sub-folders of images."""

    model_config = ConfigDict(extra="forbid")

    path: str                                        # the root folder
    image_size: list[int] | None = Field(None, min_length=2, max_length=2)  # [H, W] resize;
    #                                                  None: all images must share one size
    grayscale: bool = False                          # 1 channel (L) instead of 3 (RGB)
    in_memory: bool = True                           # False: stream from disk (large folders)
    test_split: float = Field(0.2, gt=0.0, lt=1.0)   # held out when there is no test/ folder
    num_workers: int = Field(0, ge=0)                # DataLoader workers when streaming


def list_images(root: Path, classes: list[str] | None = None
                ) -> tuple[list[Path], list[int], list[str]]:
    """Image files under ``root/<class>/`` with class indices; classes sorted by name."""
    found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if classes is None:
        classes = found
    if not classes:
        raise UserError(str(root), "no class sub-folders (empty dataset)",
                        "put the images of each class in a sub-folder named after the class")
    for c in found:
        if c not in classes:
            raise UserError(str(root / c), f"class '{c}' is not a training class "
                            f"({', '.join(classes)})")
    files, labels = [], []
    for i, c in enumerate(classes):
        folder = root / c
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f.suffix.lower() in EXTENSIONS:
                files.append(f)
                labels.append(i)
    if not files:
        raise UserError(str(root), "no image files in the class folders (empty dataset)",
                        f"supported: {', '.join(sorted(EXTENSIONS))}")
    return files, labels, classes


def image_size(cfg: ImageFolderConfig, first: Path) -> tuple[int, int]:
    """[H, W] from the config, else the first image's size."""
    if cfg.image_size is not None:
        return int(cfg.image_size[0]), int(cfg.image_size[1])
    return tuple(decode_image(first, None, cfg.grayscale).shape[1:])  # type: ignore[return-value]


def decode_all(files: list[Path], size: tuple[int, int], cfg: ImageFolderConfig) -> np.ndarray:
    out = np.empty((len(files), 1 if cfg.grayscale else 3, *size), dtype=np.float32)
    for i, f in enumerate(files):
        a = decode_image(f, size if cfg.image_size is not None else None, cfg.grayscale)
        if a.shape[1:] != size:
            raise UserError(str(f), f"is {a.shape[1]}x{a.shape[2]} but {files[0].name} is "
                            f"{size[0]}x{size[1]}", "set data.image_size: [H, W] to resize")
        out[i] = a
    return out


@DATASETS.register("imagefolder", config=ImageFolderConfig)
def imagefolder(cfg: ImageFolderConfig, **_: Any) -> Dataset:
    """Images in one sub-folder per class (optionally under train/ and test/)."""
    root = existing(cfg.path, "folder", "data.path")
    if (root / "train").is_dir() and (root / "test").is_dir():
        tr_files, tr_y, classes = list_images(root / "train")
        te_files, te_y, _ = list_images(root / "test", classes)
    else:
        files, ys, classes = list_images(root)
        tr, te = fixed_split(len(files), cfg.test_split, np.asarray(ys))
        tr_files, tr_y = [files[i] for i in tr], [ys[i] for i in tr]
        te_files, te_y = [files[i] for i in te], [ys[i] for i in te]
    size = image_size(cfg, tr_files[0])
    if not cfg.in_memory:
        check_classes(np.asarray(tr_y), np.asarray(te_y), classes, str(root))
        return streaming_dataset(root.name, tr_files, tr_y, te_files, te_y, classes, size, cfg)
    x_tr, x_te = decode_all(tr_files, size, cfg), decode_all(te_files, size, cfg)
    return from_arrays(root.name, "image", "classification", x_tr, np.asarray(tr_y), x_te,
                       np.asarray(te_y), classes, where=str(root))
