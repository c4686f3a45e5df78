"""UCR/UEA time-series ``.ts`` files: ``{name: ts, train: FILE, test: FILE}``.

A header of ``@`` tags (``@problemName``, ``@univariate``, ``@dimensions``, ``@equalLength``,
``@seriesLength``, ``@classLabel true a b c`` or ``@targetLabel true``), then ``@data`` and one
series per line: ``dim1 values:dim2 values:label``, values comma separated. Series of different
lengths are zero-padded to the longest (train and test together) and the splits carry
``lengths``. ``?`` marks a missing value: trailing ones are padding and are dropped, inner ones
take the previous value (forward fill). Output (N, T, F).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from archopt.data.dataset import Dataset
from archopt.data.source import existing, from_arrays
from archopt.errors import UserError
from archopt.registry import DATASETS


class TSConfig(BaseModel):
    """A pair of .ts files."""

    model_config = ConfigDict(extra="forbid")

    train: str          # the _TRAIN.ts file
    test: str           # the _TEST.ts file


class TSFile:
    """A parsed .ts file: series (list of (T_i, F) arrays), labels, header facts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.stem
        self.classes: list[str] | None = None
        self.regression = False
        self.dims: int | None = None
        self.series: list[np.ndarray] = []
        self.labels: list[str] = []
        self._parse()

    def _header(self, tag: str, rest: str, line: int) -> None:
        where = f"{self.path}:{line}"
        words = rest.split()
        if tag == "problemname" and words:
            self.name = words[0]
        elif tag == "timestamps" and words and words[0].lower() == "true":
            raise UserError(where, "time-stamped .ts data is not supported",
                            "write the series without time stamps")
        elif tag == "univariate" and words and words[0].lower() == "true":
            self.dims = 1
        elif tag == "dimensions" and words:
            if not words[0].isdigit() or int(words[0]) < 1:
                raise UserError(where, f"@dimensions must be a positive integer, not {words[0]}")
            self.dims = int(words[0])
        elif tag == "classlabel" and words:
            if words[0].lower() == "true":
                self.classes = words[1:]
                if not self.classes:
                    raise UserError(where, "@classLabel true lists no classes",
                                    "write @classLabel true followed by the class names")
        elif tag == "targetlabel" and words and words[0].lower() == "true":
            self.regression = True

    def _parse(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8-sig")  # a byte-order mark is skipped
        except UnicodeDecodeError:
            raise UserError(str(self.path), "not a .ts text file (not UTF-8)") from None
        in_data = False
        for n, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise UserError(f"{self.path}:{n}", "expected an @tag before @data",
                                    "is this a UCR/UEA .ts file?")
                tag, _, rest = line[1:].partition(" ")
                if tag.lower() == "data":
                    in_data = True
                else:
                    self._header(tag.lower(), rest, n)
                continue
            self._row(line, n)
        if not in_data:
            raise UserError(str(self.path), "no @data line", "is this a UCR/UEA .ts file?")
        if not self.series:
            raise UserError(str(self.path), "no series after @data (empty dataset)")

    def _row(self, line: str, n: int) -> None:
        where = f"{self.path}:{n}"
        parts = line.split(":")
        labeled = self.classes is not None or self.regression
        if labeled:
            parts, label = parts[:-1], parts[-1].strip()
            if self.classes is not None and label not in self.classes:
                raise UserError(where, f"label '{label}' is not in @classLabel "
                                f"({' '.join(self.classes)})", "fix the label or the header")
            if self.regression:
                try:
                    float(label)
                except ValueError:
                    raise UserError(where, f"target '{label}' is not a number") from None
            self.labels.append(label)
        else:
            raise UserError(str(self.path), "no @classLabel true ... or @targetLabel true header",
                            "archopt needs labelled series")
        if self.dims is None:
            self.dims = len(parts)  # no header says: the first row decides
        if len(parts) != self.dims:
            raise UserError(where, f"{len(parts)} dimensions but the header says {self.dims}",
                            "every series needs one ':'-separated part per dimension")
        dims = [self._values(p, where, d) for d, p in enumerate(parts)]
        length = max(len(d) for d in dims)
        x = np.zeros((length, len(dims)), dtype=np.float32)   # (T, F)
        for j, d in enumerate(dims):
            x[: len(d), j] = d
        self.series.append(x)

    @staticmethod
    def _values(part: str, where: str, dim: int) -> np.ndarray:
        vals: list[float] = []
        for v in part.split(","):
            v = v.strip()
            try:
                vals.append(math.nan if v in ("?", "") else float(v))
            except ValueError:
                raise UserError(where, f"dimension {dim + 1}: '{v}' is not a number") from None
        arr = np.asarray(vals, dtype=np.float32)
        valid = np.nonzero(~np.isnan(arr))[0]
        if len(valid) == 0:
            raise UserError(where, f"dimension {dim + 1} has no values")
        arr = arr[: valid[-1] + 1]                      # trailing '?': padding
        for i in range(len(arr)):                       # inner '?': forward fill
            if np.isnan(arr[i]):
                arr[i] = arr[i - 1] if i > 0 else arr[valid[0]]
        return arr


@DATASETS.register("ts", config=TSConfig)
def ts(cfg: TSConfig, **_: Any) -> Dataset:
    """UCR/UEA time-series classification or regression (.ts files)."""
    tr = TSFile(existing(cfg.train, where="data.train"))
    te = TSFile(existing(cfg.test, where="data.test"))
    if tr.dims != te.dims:
        raise UserError(str(te.path), f"series have {te.dims} dimensions but the training "
                        f"file's have {tr.dims}", "train and test must match")
    if tr.regression != te.regression:
        raise UserError(str(te.path), "one file has class labels, the other regression targets")
    lengths = [len(s) for s in tr.series + te.series]
    t_max = max(lengths)
    variable = min(lengths) != t_max

    def stack(f: TSFile) -> np.ndarray:
        x = np.zeros((len(f.series), t_max, f.dims or 1), dtype=np.float32)   # (N, T, F)
        for i, s in enumerate(f.series):
            x[i, : len(s)] = s
        return x

    ltr = np.array([len(s) for s in tr.series]) if variable else None
    lte = np.array([len(s) for s in te.series]) if variable else None
    if tr.regression:
        y_tr = np.array([[float(v)] for v in tr.labels], dtype=np.float32)
        y_te = np.array([[float(v)] for v in te.labels], dtype=np.float32)
        return from_arrays(tr.name, "sequence", "regression", stack(tr), y_tr, stack(te), y_te,
                           None, ltr, lte, where=str(tr.path))
    classes = tr.classes or []
    for label in te.labels:
        if label not in classes:
            raise UserError(str(te.path), f"label '{label}' is not a class of {tr.path.name}")
    index = {c: i for i, c in enumerate(classes)}
    y_tr = np.array([index[v] for v in tr.labels], dtype=np.int64)
    y_te = np.array([index[v] for v in te.labels], dtype=np.int64)
    return from_arrays(tr.name, "sequence", "classification", stack(tr), y_tr, stack(te), y_te,
                       list(classes), ltr, lte, where=str(tr.path))
