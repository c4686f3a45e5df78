"""Decoding one image file (Pillow) into a float array: what image folders, in memory or
streamed, are made of."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from archopt.errors import UserError


def decode_image(path: Path, size: tuple[int, int] | None, grayscale: bool) -> np.ndarray:
    """One image file as float32 (C, H, W) in [0, 1]; a UserError naming an undecodable file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("L" if grayscale else "RGB")
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            a = np.asarray(im, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(str(path), f"cannot be decoded as an image ({exc})",
                        "remove or replace the file") from None
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
