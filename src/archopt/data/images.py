"""Decoding one image file (Pillow) into a float array: what image folders, in memory or
streamed, are made of."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from archopt.errors import UserError, warn


def decode_image(path: Path, size: tuple[int, int] | None, grayscale: bool) -> np.ndarray:
    """One image file as float32 (C, H, W) in [0, 1]; a UserError naming an undecodable file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings(record=True) as caught, Image.open(path) as im:
            warnings.simplefilter("always")
            a = _pixels(im, size, grayscale)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(str(path), f"cannot be decoded as an image ({exc})",
                        "remove or replace the file") from None
    for w in caught[:1]:  # what Pillow still says about a legal file, in one line of ours
        warn(str(path), str(w.message).splitlines()[0])
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def _pixels(im: Any, size: tuple[int, int] | None, grayscale: bool) -> np.ndarray:
    """(H, W) or (H, W, 3) float32 in [0, 1] from any Pillow mode.

    Palette images with a transparent colour go through RGBA (what Pillow asks for); 16- and
    32-bit integer images keep their depth instead of being clipped to 8 bits.
    """
    from PIL import Image

    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        peak = 1.0 if im.mode == "F" else 65535.0
        im = Image.fromarray(np.asarray(im, dtype=np.float32) / peak)  # mode F
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.BILINEAR)
        a = np.clip(np.asarray(im, dtype=np.float32), 0.0, 1.0)
        return a if grayscale else np.repeat(a[..., None], 3, axis=2)
    im = im.convert("L" if grayscale else "RGB")
    if size is not None and im.size != (size[1], size[0]):
        im = im.resize((size[1], size[0]), Image.BILINEAR)
    return np.asarray(im, dtype=np.float32) / 255.0
