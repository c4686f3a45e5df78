"""An on-disk cache of generated arrays (npz), keyed by the generator's parameters."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, else ``$ARCHOPT_CACHE_DIR``, else ``~/.cache/archopt``."""
    if cache_dir:
        return Path(cache_dir).expanduser()
    env = os.environ.get("ARCHOPT_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "archopt"


def cache_path(prefix: str, params: dict[str, Any], cache_dir: str | None = None) -> Path:
    """Where the arrays generated with ``params`` live: ``<root>/<prefix>-<hash>.npz``."""
    key = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()
    return cache_root(cache_dir) / f"{prefix}-{key[:16]}.npz"


def load_cached(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays in ``path``, or None when missing or unreadable (then they are regenerated)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except Exception:  # a damaged cache file is just a miss
        return None


def save_cached(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write arrays atomically (temp file + rename); a read-only cache is silently skipped."""
    from archopt.spec.load import write_atomic

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    with contextlib.suppress(OSError):
        write_atomic(path, buf.getvalue())
