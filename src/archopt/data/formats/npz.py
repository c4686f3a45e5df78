"""NumPy ``.npz`` archives holding x_train, y_train, x_test, y_test (names configurable)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from archopt.data.dataset import Dataset
from archopt.data.source import KIND_BY_NDIM, encode_labels, existing, from_arrays
from archopt.errors import UserError
from archopt.registry import DATASETS


class NPZConfig(BaseModel):
    """An .npz file with train and test arrays."""

    model_config = ConfigDict(extra="forbid")

    path: str                                   # the .npz file
    x_train: str = "x_train"                    # array names inside the file
    y_train: str = "y_train"
    x_test: str = "x_test"
    y_test: str = "y_test"
    lengths_train: str | None = None            # optional (N,) true lengths of padded sequences
    lengths_test: str | None = None
    kind: Literal["auto", "image", "sequence", "tabular"] = "auto"  # auto: 2-D tabular,
    #                                             3-D sequence (N,T,F), 4-D image (N,C,H,W)
    task: Literal["auto", "classification", "regression"] = "auto"  # auto: integer y classifies


def infer_task(y: np.ndarray) -> str:
    """Classification for integer, bool or string targets of one column; else regression."""
    if y.dtype.kind in "iubUSO" and (y.ndim == 1 or y.shape[1:] == (1,)):
        return "classification"
    return "regression"


@DATASETS.register("npz", config=NPZConfig)
def npz(cfg: NPZConfig, **_: Any) -> Dataset:
    """Arrays from a NumPy .npz archive."""
    p = existing(cfg.path, where="data.path")
    if bool(cfg.lengths_train) != bool(cfg.lengths_test):
        given, missing = (("lengths_train", "lengths_test") if cfg.lengths_train
                          else ("lengths_test", "lengths_train"))
        raise UserError(f"data.{missing}", f"is not set but data.{given} is: the {missing[8:]} "
                        "split would be read without its sequence lengths",
                        f"name the array of {missing[8:]} lengths too (data.{missing})")
    try:
        with open(p, "rb") as fh:  # our handle: closed however numpy fails
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):
                raise UserError(str(p), "holds a single .npy array, not an .npz archive",
                                "save the splits with numpy.savez(path, x_train=..., "
                                "y_train=..., x_test=..., y_test=...)")
            names = list(f.files)
            wanted = [cfg.x_train, cfg.y_train, cfg.x_test, cfg.y_test,
                      *(n for n in (cfg.lengths_train, cfg.lengths_test) if n)]
            missing = [n for n in wanted if n not in names]
            if missing:
                raise UserError(str(p), f"no array '{missing[0]}' in the archive "
                                f"(it has: {', '.join(names) or 'nothing'})",
                                "name the arrays with data.x_train, data.y_train, ...")
            a = {n: f[n] for n in wanted}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise UserError(str(p), f"not a readable .npz archive ({exc})") from None
    x_tr, y_tr, x_te, y_te = (a[n] for n in (cfg.x_train, cfg.y_train, cfg.x_test, cfg.y_test))
    kind = None if cfg.kind == "auto" else cfg.kind
    if kind is None and x_tr.ndim not in KIND_BY_NDIM:
        raise UserError(str(p), f"'{cfg.x_train}' has {x_tr.ndim} dimensions; expected 2 "
                        "(tabular), 3 (sequence N,T,F) or 4 (image N,C,H,W)")
    task = infer_task(y_tr) if cfg.task == "auto" else cfg.task
    names = None
    if task == "classification":
        y_tr, y_te, names = encode_labels(y_tr.ravel(), y_te.ravel(), where=str(p))
    for arr_name, arr in ((cfg.x_train, x_tr), (cfg.x_test, x_te)):
        if not np.issubdtype(arr.dtype, np.number) and arr.dtype != bool:
            raise UserError(str(p), f"'{arr_name}' holds {arr.dtype} values, not numbers")
    return from_arrays(Path(p).stem, kind, task, x_tr, y_tr, x_te, y_te,  # type: ignore[arg-type]
                       names, a.get(cfg.lengths_train or ""), a.get(cfg.lengths_test or ""),
                       where=str(p))
