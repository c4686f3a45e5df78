"""Tabular data from CSV files (stdlib ``csv``, no pandas).

``{name: csv, path: FILE, target: COLUMN}``. Numeric columns become features as they are (then
standardized by the usual normalization); text columns are one-hot encoded with categories fitted
on the training rows. A column is numeric when most of its values parse as numbers; then a value
that does not is an error naming its line and column. Missing values (empty, NA, NaN, ?) are an
error unless ``impute: mean`` (numeric: the training mean; text: the most frequent category).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from archopt.data.dataset import Dataset
from archopt.data.source import encode_labels, existing, fixed_split, from_arrays
from archopt.errors import UserError
from archopt.registry import DATASETS

MISSING = {"", "na", "nan", "n/a", "null", "none", "?"}


class CSVConfig(BaseModel):
    """A CSV file with a header row; one column is the target."""

    model_config = ConfigDict(extra="forbid")

    path: str                                   # the training file (or all data, see test)
    target: str                                 # the target column's header name
    test: str | None = None                     # a separate test file; None: split from path
    test_split: float = Field(0.2, gt=0.0, lt=1.0)  # fraction held out when test is None
    impute: Literal["none", "mean"] = "none"    # missing values: error, or fill (mean / mode)
    task: Literal["auto", "classification", "regression"] = "auto"  # auto: text or few
    #                                             distinct integer values classify
    delimiter: str = ","                        # the field separator
    encoding: str = "utf-8"                     # the files' text encoding (latin-1, cp1252,
    #                                             ...); a UTF-8 byte-order mark is skipped
    max_classes: int = Field(20, ge=2)          # auto: integer targets with at most this many
    #                                             distinct values are classes


class _Table:
    """A CSV file's header and rows, with their line numbers."""

    def __init__(self, path: Path, delimiter: str, encoding: str = "utf-8") -> None:
        self.path = path
        enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
        try:
            with open(path, newline="", encoding=enc) as f:
                rows = list(csv.reader(f, delimiter=delimiter))
        except LookupError:
            raise UserError("data.encoding", f"unknown text encoding '{encoding}'",
                            "use utf-8, latin-1, cp1252, ...") from None
        except UnicodeDecodeError as exc:
            raise UserError(str(path), f"is not {encoding} text (byte {exc.start}: "
                            f"{exc.object[exc.start:exc.start + 1]!r})",
                            "a CSV file is text: if it is, set data.encoding (e.g. latin-1)"
                            ) from None
        except csv.Error as exc:
            raise UserError(str(path), f"not a readable CSV text file ({exc})") from None
        if any("\0" in c for _, r in zip(range(50), rows) for c in r):
            raise UserError(str(path), "holds NUL bytes: not a CSV text file")
        rows = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
        if not rows:
            raise UserError(str(path), "the file is empty", "a header row and data rows expected")
        self.header = [h.strip() for h in rows[0][1]]
        self.lines = [n for n, _ in rows[1:]]
        self.rows = [r for _, r in rows[1:]]
        if not self.rows:
            raise UserError(str(path), "the file has a header but no data rows (empty dataset)")
        for n, r in zip(self.lines, self.rows):
            if len(r) != len(self.header):
                raise UserError(f"{path}:{n}", f"{len(r)} fields but the header has "
                                f"{len(self.header)}", "every row needs one value per column")

    def column(self, name: str) -> list[str]:
        if name not in self.header:
            raise UserError(str(self.path), f"no column '{name}'; the columns are: "
                            f"{', '.join(self.header)}", "set data.target to one of them")
        j = self.header.index(name)
        return [r[j].strip() for r in self.rows]


def _number(v: str) -> float | None:
    try:
        return float(v)
    except ValueError:
        return None


def _is_numeric(values: list[str]) -> bool:
    present = [v for v in values if v.lower() not in MISSING]
    return sum(_number(v) is not None for v in present) * 2 > len(present)


class _Column:
    """One feature column's encoding, fitted on the training rows."""

    def __init__(self, name: str, values: list[str], impute: str) -> None:
        self.name, self.impute = name, impute
        self.numeric = _is_numeric(values)
        present = [v for v in values if v.lower() not in MISSING]
        if self.numeric:
            nums = [_number(v) for v in present]
            good = [x for x in nums if x is not None]
            self.fill: Any = float(np.mean(good)) if good else 0.0
        else:
            self.categories = sorted(set(present))
            self.fill = Counter(present).most_common(1)[0][0] if present else ""

    @property
    def names(self) -> list[str]:
        return [self.name] if self.numeric else [f"{self.name}={c}" for c in self.categories]

    def encode(self, values: list[str], table: _Table) -> np.ndarray:
        out = np.zeros((len(values), len(self.names)), dtype=np.float32)
        for i, v in enumerate(values):
            if v.lower() in MISSING:
                if self.impute != "mean":
                    raise UserError(f"{table.path}:{table.lines[i]}",
                                    f"missing value in column '{self.name}'",
                                    "fill it in, or set data.impute: mean")
                v = self.fill if not self.numeric else str(self.fill)
            if self.numeric:
                x = _number(v)
                if x is None:
                    raise UserError(f"{table.path}:{table.lines[i]}",
                                    f"column '{self.name}': '{v}' is not a number",
                                    "fix the value (the column's other values are numbers)")
                out[i, 0] = x
            elif v in self.categories:  # a category unseen in training encodes as all zeros
                out[i, self.categories.index(v)] = 1.0
        return out


def _targets(values: list[str], table: _Table) -> None:
    for i, v in enumerate(values):
        if v.lower() in MISSING:
            raise UserError(f"{table.path}:{table.lines[i]}", "missing target value",
                            "every row needs a target")


def _task(cfg: CSVConfig, values: list[str]) -> str:
    if cfg.task != "auto":
        return cfg.task
    nums = [_number(v) for v in values]
    if any(x is None for x in nums):
        return "classification"
    integer = all(float(x).is_integer() for x in nums)  # type: ignore[arg-type]
    return "classification" if integer and len(set(nums)) <= cfg.max_classes else "regression"


@DATASETS.register("csv", config=CSVConfig)
def csv_dataset(cfg: CSVConfig, **_: Any) -> Dataset:
    """Tabular data from a CSV file (and optionally a separate test file)."""
    train = _Table(existing(cfg.path, where="data.path"), cfg.delimiter, cfg.encoding)
    test = (_Table(existing(cfg.test, where="data.test"), cfg.delimiter, cfg.encoding)
            if cfg.test else None)
    y_all = train.column(cfg.target)
    _targets(y_all, train)
    task = _task(cfg, y_all)
    features = [h for h in train.header if h != cfg.target]
    if not features:
        raise UserError(str(train.path), "no feature columns besides the target")
    if test is not None:
        y_test_raw = test.column(cfg.target)
        _targets(y_test_raw, test)
        for h in features:
            test.column(h)  # every feature column must be in the test file too
        tr_rows, te_rows = np.arange(len(train.rows)), None
    else:
        strat = np.asarray(y_all) if task == "classification" else None
        tr_rows, te_rows = fixed_split(len(train.rows), cfg.test_split, strat)
    cols = []
    for h in features:
        values = train.column(h)
        cols.append(_Column(h, [values[i] for i in tr_rows], cfg.impute))

    def encode(table: _Table, rows: np.ndarray) -> np.ndarray:
        sub = _Subset(table, rows)
        return np.concatenate([c.encode(sub.column(c.name), sub) for c in cols], axis=1)

    x_tr = encode(train, tr_rows)
    if test is not None:
        x_te = encode(test, np.arange(len(test.rows)))
        y_tr_raw, y_te_raw = y_all, y_test_raw
    else:
        x_te = encode(train, te_rows)  # type: ignore[arg-type]
        y_tr_raw = [y_all[i] for i in tr_rows]
        y_te_raw = [y_all[i] for i in te_rows]  # type: ignore[union-attr]
    names = None
    if task == "classification":
        y_tr, y_te, names = _encode_classes(y_tr_raw, y_te_raw, str(train.path))
    else:
        y_tr, y_te = _floats(y_tr_raw, train, tr_rows), _floats(
            y_te_raw, test or train, np.arange(len(test.rows)) if test else te_rows)
    ds = from_arrays(train.path.stem, "tabular", task, x_tr, y_tr, x_te, y_te,  # type: ignore
                     names, where=str(train.path))
    ds.feature_names = [n for c in cols for n in c.names]  # one-hot columns: 'color=red'
    return ds


class _Subset(_Table):
    """Some rows of a table (keeps the real line numbers for messages)."""

    def __init__(self, table: _Table, rows: np.ndarray) -> None:  # noqa: D107
        self.path, self.header = table.path, table.header
        self.rows = [table.rows[i] for i in rows]
        self.lines = [table.lines[i] for i in rows]


def _encode_classes(y_tr: list[str], y_te: list[str], where: str):
    nums = [_number(v) for v in y_tr + y_te]
    if all(x is not None for x in nums):  # numeric labels sort as numbers: 2 before 10
        order = sorted(set(nums), key=float)  # type: ignore[arg-type]
        fmt = [str(int(v)) if float(v).is_integer() else str(v) for v in order]  # type: ignore
        canon = {v: f for v, f in zip(order, fmt)}
        y_tr = [canon[_number(v)] for v in y_tr]
        y_te = [canon[_number(v)] for v in y_te]
        return encode_labels(y_tr, y_te, fmt, where)
    return encode_labels(y_tr, y_te, None, where)


def _floats(values: list[str], table: _Table, rows: Any) -> np.ndarray:
    out = np.empty((len(values), 1), dtype=np.float32)
    for i, v in enumerate(values):
        x = _number(v)
        if x is None:
            raise UserError(f"{table.path}:{table.lines[rows[i]]}",
                            f"target '{v}' is not a number", "regression targets must be numbers")
        out[i, 0] = x
    return out
