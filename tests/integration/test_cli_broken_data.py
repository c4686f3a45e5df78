"""Broken and awkward files in every format, through `archopt train`: each gives exit 2 with the
file named and nothing written, or a clean run with at most one `warning:` line of archopt's.
No raw library warning may reach the user (a `Warning:` line or a recorded Python warning)."""

from __future__ import annotations

import gzip
import pickle
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "data"))
import datafiles as files  # noqa: E402

RNG = np.random.default_rng(0)


# -- npz ------------------------------------------------------------------------------------

def npz(root: Path, **arrays) -> dict:
    base = {"x_train": RNG.standard_normal((20, 4)), "y_train": np.arange(20) % 2,
            "x_test": RNG.standard_normal((6, 4)), "y_test": np.arange(6) % 2}
    base.update(arrays)
    base = {k: v for k, v in base.items() if v is not None}
    np.savez(root / "d.npz", **base)
    return {"name": "npz", "path": str(root / "d.npz")}


def npz_raw(content: bytes):
    def make(root: Path) -> dict:
        (root / "d.npz").write_bytes(content)
        return {"name": "npz", "path": str(root / "d.npz")}
    return make


def npz_truncated(root: Path) -> dict:
    spec = npz(root)
    raw = (root / "d.npz").read_bytes()
    (root / "d.npz").write_bytes(raw[: len(raw) // 2])
    return spec


def npz_single_array(root: Path) -> dict:
    np.save(root / "d.npy", np.zeros((4, 4)))
    (root / "d.npy").rename(root / "d.npz")
    return {"name": "npz", "path": str(root / "d.npz")}


def npz_seq(root: Path, **kw) -> dict:
    x = RNG.standard_normal((20, 5, 1))
    spec = npz(root, x_train=x, x_test=RNG.standard_normal((6, 5, 1)),
               lengths_train=np.full(20, 5), lengths_test=np.full(6, 5))
    return {**spec, **kw}


NPZ = {
    "empty": (npz_raw(b""), "error", "d.npz"),
    "truncated": (npz_truncated, "error", "d.npz"),
    "wrong type": (npz_raw(b"x_train,y_train\n1,2\n"), "error", "d.npz"),
    "a .npy": (npz_single_array, "error", "single .npy array"),
    "mismatched lengths": (lambda r: npz(r, y_train=np.arange(19) % 2), "error", "20 inputs"),
    "nan": (lambda r: npz(r, x_train=np.where(np.eye(20, 4) > 0, np.nan, 1.0)), "error",
            "NaN or infinite"),
    "inf target": (lambda r: npz(r, y_train=np.r_[np.inf, np.ones(19)].astype(np.float32)),
                   "error", "NaN or infinite"),
    "complex": (lambda r: npz(r, x_train=RNG.standard_normal((20, 4)) * (1 + 1j)), "error",
                "complex"),
    "one class": (lambda r: npz(r, y_train=np.zeros(20, int)), "error", "one class only"),
    "class only in test": (lambda r: npz(r, y_test=np.array([0, 1, 2, 0, 1, 2])), "warn",
                           "class '2' (2) appears only in the test split"),
    "lengths of train only": (lambda r: {**npz_seq(r), "lengths_train": "lengths_train"},
                              "error", "data.lengths_test"),
    "lengths past the end": (lambda r: {**npz(r, x_train=RNG.standard_normal((20, 5, 1)),
                                              x_test=RNG.standard_normal((6, 5, 1)),
                                              lengths_train=np.full(20, 9),
                                              lengths_test=np.full(6, 5)),
                                        "lengths_train": "lengths_train",
                                        "lengths_test": "lengths_test"}, "error", "outside 1..5"),
    "float16, big-endian, string labels": (
        lambda r: npz(r, x_train=RNG.standard_normal((20, 4)).astype(">f2"),
                      y_train=np.array(["no", "yes"] * 10), y_test=np.array(["no", "yes"] * 3)),
        "ok", None),
}


# -- csv ------------------------------------------------------------------------------------

def csv_text(text: str | bytes, **kw):
    def make(root: Path) -> dict:
        p = root / "d.csv"
        p.write_bytes(text if isinstance(text, bytes) else text.encode())
        return {"name": "csv", "path": str(p), "target": "label", **kw}
    return make


def rows(n: int = 30, label=lambda i: "yes" if i % 2 else "no", a=lambda i: i * 0.5) -> str:
    return "a,b,label\n" + "".join(f"{a(i)},{i % 7},{label(i)}\n" for i in range(n))


GERMAN = ["n\u00e4", "ja"]


def csv_test_only_class(root: Path) -> dict:
    spec = csv_text(rows())(root)
    (root / "t.csv").write_text(rows(6, label=lambda i: ["yes", "no", "maybe"][i % 3]))
    return {**spec, "test": str(root / "t.csv")}


CSV = {
    "empty": (csv_text(""), "error", "d.csv: the file is empty"),
    "header only": (csv_text("a,b,label\n"), "error", "no data rows"),
    "truncated": (csv_text(rows(10) + "3.5,2"), "error", "d.csv:12"),
    "wrong type": (csv_text(gzip.compress(rows().encode())), "error", "d.csv"),
    "nan": (csv_text(rows(a=lambda i: "nan" if i == 4 else i)), "error", "d.csv:6"),
    "inf": (csv_text(rows(a=lambda i: "inf" if i == 4 else i)), "error", "NaN or infinite"),
    "one class": (csv_text(rows(label=lambda i: "yes")), "error", "one class only"),
    "class only in test": (csv_test_only_class, "warn", "'maybe' (2) appears only in the test"),
    "a folder, not a file": (lambda r: {"name": "csv", "path": str(r), "target": "label"},
                             "error", "not a file"),
    "latin-1 without saying so": (csv_text(rows().replace("no", "n\u00f6").encode("latin-1")),
                                  "error", "set data.encoding"),
    "latin-1, CRLF, quoted decimal commas, ;": (
        csv_text(("a;b;label\r\n" + "".join(
            f'"{i},5";{i % 7};{GERMAN[i % 2]}\r\n' for i in range(30))
        ).encode("latin-1"), delimiter=";", encoding="latin-1"), "ok", None),
    "UTF-8 byte-order mark": (csv_text(b"\xef\xbb\xbf" + rows().encode()), "ok", None),
}


# -- idx ------------------------------------------------------------------------------------

def idx(root: Path, labels_train=None, images_train=None, gz: bool = False) -> dict:
    files.idx_folder(root / "m", gz=gz)
    ext = ".gz" if gz else ""
    if labels_train is not None:
        files.write_idx(root / "m" / f"train-labels-idx1-ubyte{ext}", labels_train, gz)
    if images_train is not None:
        (root / "m" / f"train-images-idx3-ubyte{ext}").write_bytes(images_train)
    return {"name": "idx", "path": str(root / "m")}


def idx_floats(values: np.ndarray) -> bytes:
    a = np.asarray(values, dtype=">f4")
    return bytes([0, 0, 0x0D, a.ndim]) + struct.pack(f">{a.ndim}i", *a.shape) + a.tobytes()


def idx_truncated(root: Path) -> dict:
    spec = idx(root)
    p = root / "m" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:500])
    return spec


def idx_test_only_class(root: Path) -> dict:
    spec = idx(root)
    files.write_idx(root / "m" / "t10k-labels-idx1-ubyte", np.arange(10) % 4)
    return spec


def idx_nan(root: Path) -> dict:
    x = RNG.random((30, 6, 6)).astype(np.float32)
    x[3, 2, 2] = np.nan
    return idx(root, images_train=idx_floats(x))


IDX = {
    "empty": (lambda r: idx(r, images_train=b""), "error", "train-images-idx3-ubyte: not an"),
    "truncated": (idx_truncated, "error", "truncated IDX"),
    "wrong type": (lambda r: idx(r, images_train=b"\x89PNG\r\n\x1a\n0000"), "error",
                   "bad magic number"),
    "not gzip": (lambda r: idx(r, gz=True, images_train=b"plain bytes"), "error",
                 "cannot be decompressed"),
    "mismatched lengths": (lambda r: idx(r, labels_train=np.arange(29) % 3), "error",
                           "29 labels"),
    "nan": (idx_nan, "error", "NaN or infinite"),
    "one class": (lambda r: idx(r, labels_train=np.zeros(30)), "error", "one class only"),
    "class only in test": (idx_test_only_class, "warn", "class '3' (2) appears only in the test"),
    "float pixels, gzip": (lambda r: idx(r, gz=True, images_train=gzip.compress(idx_floats(
        RNG.random((30, 6, 6))))), "ok", None),
}


# -- cifar ----------------------------------------------------------------------------------

def cifar(root: Path, train_labels=None, test_labels=None, data_rows: int = 6) -> dict:
    folder = root / "c"
    folder.mkdir()
    for i in range(1, 3):
        labels = train_labels if train_labels is not None else [j % 3 for j in range(6)]
        d = {b"data": RNG.integers(0, 256, (data_rows, 3072), dtype=np.uint8),
             b"labels": list(labels)}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(d))
    d = {b"data": RNG.integers(0, 256, (6, 3072), dtype=np.uint8),
         b"labels": list(test_labels if test_labels is not None else [j % 3 for j in range(6)])}
    (folder / "test_batch").write_bytes(pickle.dumps(d))
    return {"name": "cifar", "path": str(folder)}


def cifar_replace(name: str, content: bytes):
    def make(root: Path) -> dict:
        spec = cifar(root)
        (root / "c" / name).write_bytes(content)
        return spec
    return make


def cifar_truncated(root: Path) -> dict:
    spec = cifar(root)
    p = root / "c" / "data_batch_1"
    p.write_bytes(p.read_bytes()[:1000])
    return spec


CIFAR = {
    "empty": (cifar_replace("data_batch_2", b""), "error", "data_batch_2: not a CIFAR"),
    "truncated": (cifar_truncated, "error", "data_batch_1: not a CIFAR"),
    "wrong type": (cifar_replace("test_batch", pickle.dumps([1, 2, 3])), "error",
                   "test_batch: not a CIFAR"),
    "mismatched lengths": (lambda r: cifar(r, train_labels=[0, 1, 2, 0, 1]), "error",
                           "6 images but 5 labels"),
    "one class": (lambda r: cifar(r, train_labels=[4] * 6), "error", "one class only"),
    "class only in test": (lambda r: cifar(r, test_labels=[0, 1, 2, 3, 0, 1]), "warn",
                           "class '3' (1) appears only in the test"),
    "negative label": (lambda r: cifar(r, train_labels=[0, 1, -1, 0, 1, 2]), "error",
                       "integers from 0"),
}


# -- ts -------------------------------------------------------------------------------------

def ts(train_rows=None, test_rows=None, raw: bytes | None = None, **kw):
    def make(root: Path) -> dict:
        spec = files.write_ts_pair(root, train_rows or files.univariate_rows(20),
                                   test_rows or files.univariate_rows(6, seed=1), **kw)
        if raw is not None:
            Path(spec["train"]).write_bytes(raw)
        return spec
    return make


TS = {
    "empty": (ts(raw=b""), "error", "Toy_TRAIN.ts: no @data line"),
    "truncated": (ts(raw=files.ts_text(["1,2,3,4:a", "1,2,"]).encode()), "error",
                  "Toy_TRAIN.ts:11"),
    "wrong type": (ts(raw=b"\x00\xff\xfe binary"), "error", "not a .ts text file"),
    "mismatched dimensions": (ts(train_rows=["1,2:3,4:a", "1,2:a"], dims=2), "error",
                              "Toy_TRAIN.ts:11"),
    "inf": (ts(train_rows=["1,2,inf,4:a", *files.univariate_rows(5)]), "error",
            "NaN or infinite"),
    "one class": (ts(train_rows=[r[:-1] + "a" for r in files.univariate_rows(8)]), "error",
                  "one class only"),
    "class only in test": (ts(test_rows=["1,2,3,4:c", "1,2,3,4:a"], classes="a b c"), "warn",
                           "class 'c' (1) appears only in the test"),
    "BOM, CRLF, missing values, variable length": (
        ts(raw=("\ufeff" + files.ts_text(["1,2,?,4:a", "1,2:b", "3,?,?:a", "1,1,1,1:b"] * 3,
                                         equal=False)).replace("\n", "\r\n").encode()),
        "ok", None),
}


# -- imagefolder ----------------------------------------------------------------------------

def images(root: Path, **kw) -> dict:
    files.image_folder(root / "img", **kw)
    return {"name": "imagefolder", "path": str(root / "img")}


def image_replace(content: bytes):
    def make(root: Path) -> dict:
        spec = images(root)
        (root / "img" / "cat" / "0.png").write_bytes(content)
        return spec
    return make


def image_truncated(root: Path) -> dict:
    spec = images(root)
    p = root / "img" / "dog" / "3.png"
    p.write_bytes(p.read_bytes()[:60])
    return spec


def image_test_only_class(root: Path) -> dict:
    files.image_folder(root / "img" / "train")
    files.image_folder(root / "img" / "test", classes=("cat", "dog", "eel"))
    return {"name": "imagefolder", "path": str(root / "img")}


def image_odd_encodings(root: Path) -> dict:
    """Palette PNGs with a transparent colour (Pillow warns on them), 16-bit grey, CMYK JPEG."""
    from PIL import Image

    spec = images(root)
    for i in range(3):
        pal = Image.fromarray(RNG.integers(0, 4, (6, 5), dtype=np.uint8)).convert("P")
        pal.save(root / "img" / "cat" / f"pal{i}.png", transparency=bytes([0, 128, 64, 255]))
    Image.fromarray((RNG.random((6, 5)) * 65535).astype(np.uint16)).save(
        root / "img" / "dog" / "deep.png")
    Image.new("CMYK", (5, 6), (10, 20, 30, 40)).save(root / "img" / "dog" / "print.jpg")
    return {**spec, "in_memory": False}


IMAGEFOLDER = {
    "empty file": (image_replace(b""), "error", "0.png: cannot be decoded"),
    "truncated": (image_truncated, "error", "3.png: cannot be decoded"),
    "wrong type": (image_replace(b"just text"), "error", "0.png: cannot be decoded"),
    "one class": (lambda r: images(r, classes=("cat",)), "error", "one class only"),
    "class only in test": (image_test_only_class, "error", "class 'eel' is not a training"),
    "different sizes": (lambda r: (images(r), files.image_folder(
        r / "img", classes=("dog",), per_class=1, size=(7, 7)))[0], "error", "0.png: is 7x7"),
    "palette+transparency, 16-bit, CMYK, streamed": (image_odd_encodings, "ok", None),
}

CASES = [(fmt, name, *case) for fmt, table in
         (("npz", NPZ), ("csv", CSV), ("idx", IDX), ("cifar", CIFAR), ("ts", TS),
          ("imagefolder", IMAGEFOLDER)) for name, case in table.items()]


@pytest.mark.parametrize("fmt,name,make,outcome,needle", CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_broken_and_awkward_files(cli, tmp_path, fmt, name, make, outcome, needle):
    data = make(tmp_path)
    spec = {"name": "t", "data": {**data, "batch_size": 4, "val_split": 0.2},
            "model": {"name": "mlp", "hidden": [8]}, "train": {"max_steps": 2}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, stdout, err = cli("train", path, "--out", out, "--quiet")
    shown = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not shown, f"library warnings reached the user: {shown}"
    assert "Warning:" not in stdout + err and "Traceback" not in err, err
    ours = [line for line in err.splitlines() if line.startswith("warning:")]
    if outcome == "error":
        assert code == 2, f"exit {code}: {err}"
        assert err.startswith("error: ") and needle in err, err
        assert not out.exists(), "a run directory was written for bad input"
    else:
        assert code == 0, err
        assert len(ours) <= 1 and len(err.splitlines()) == len(ours), err
        if outcome == "warn":
            assert len(ours) == 1 and needle in ours[0], err
        else:
            assert not ours, err
