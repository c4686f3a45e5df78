"""`archopt data info` and `archopt data list` through the real CLI, good and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from archopt.cli.main import main

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "data"))
import datafiles as files  # noqa: E402


@pytest.fixture(autouse=True)
def _cache_dir(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("ARCHOPT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


def info(capsys, *args):
    code = main(["data", "info", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_info_json_of_a_builtin(capsys):
    code, out, _ = info(capsys, "mnist1d", "--json")
    assert code == 0
    d = json.loads(out)
    assert d["kind"] == "sequence" and d["input_shape"] == [40, 1] and d["num_classes"] == 10
    assert d["splits"] == {"train": 3600, "val": 400, "test": 1000}
    assert sum(d["class_balance"]["test"].values()) == 1000


def test_info_table_and_overrides(capsys):
    code, out, _ = info(capsys, "iris", "--set", "val_split=0.25")
    assert code == 0 and "tabular" in out and "setosa" in out and "90 / 30 / 30" in out


def test_info_of_a_spec_file(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: t\nseed: 3\ndata:\n  name: synthetic\n  kind: image\n"
                    "model:\n  name: mlp\n")
    code, out, _ = info(capsys, str(spec), "--json", "--set", "data.num_train=50")
    d = json.loads(out)
    assert code == 0 and d["kind"] == "image" and d["input_shape"] == [1, 8, 8]
    assert d["splits"]["train"] + d["splits"]["val"] == 50


def test_info_of_a_file_format(tmp_path, capsys):
    files.idx_folder(tmp_path / "m")
    code, out, _ = info(capsys, "idx", "--set", f"path={tmp_path / 'm'}", "--json")
    assert code == 0 and json.loads(out)["input_shape"] == [1, 6, 6]


def test_list(capsys):
    assert main(["data", "list", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"mnist1d", "idx", "ts", "csv", "npz", "cifar", "imagefolder"} <= set(d["datasets"])
    assert "mixup" in d["augmentations"]


def bad(capsys, *args, match):
    code, _, err = info(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    for m in match:
        assert m in err, err
    return err


def test_missing_file_and_folder(tmp_path, capsys):
    bad(capsys, "idx", "--set", f"path={tmp_path / 'nope'}", match=["nope", "not found"])
    bad(capsys, "csv", "--set", f"path={tmp_path / 'x.csv'}", "--set", "target=y",
        match=["x.csv", "not found"])
    (tmp_path / "m").mkdir()
    bad(capsys, "idx", "--set", f"path={tmp_path / 'm'}",
        match=["train-images-idx3-ubyte", str(tmp_path / "m")])


def test_not_idx_and_truncated_idx(tmp_path, capsys):
    root = files.idx_folder(tmp_path / "a")
    (root / "train-images-idx3-ubyte").write_bytes(b"PK\x03\x04 this is a zip")
    bad(capsys, "idx", "--set", f"path={root}", match=["train-images-idx3-ubyte", "magic"])
    root = files.idx_folder(tmp_path / "b", gz=True)
    import gzip

    p = root / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(gzip.decompress(p.read_bytes())[:50]))
    bad(capsys, "idx", "--set", f"path={root}", match=["t10k-images-idx3-ubyte.gz", "truncated"])


def test_image_and_label_counts_differ(tmp_path, capsys):
    root = files.idx_folder(tmp_path)
    files.write_idx(root / "train-labels-idx1-ubyte", np.zeros(29))
    bad(capsys, "idx", "--set", f"path={root}",
        match=["train-labels-idx1-ubyte", "29 labels", "30 images"])


def test_empty_datasets(tmp_path, capsys):
    p = files.write_csv(tmp_path / "e.csv", ["a", "y"], [])
    bad(capsys, "csv", "--set", f"path={p}", "--set", "target=y", match=["e.csv", "empty"])
    (tmp_path / "imgs").mkdir()
    bad(capsys, "imagefolder", "--set", f"path={tmp_path / 'imgs'}", match=["imgs", "empty"])
    spec = files.write_ts_pair(tmp_path / "ts", [], ["1,2,3,4:a"])
    bad(capsys, "ts", "--set", f"train={spec['train']}", "--set", f"test={spec['test']}",
        match=["Toy_TRAIN.ts", "empty"])


def test_ts_dimension_count_and_unknown_label(tmp_path, capsys):
    spec = files.write_ts_pair(tmp_path, ["1,2:3,4:a", "1,2:b"], ["1,2:3,4:a"], dims=2,
                               length=2)
    bad(capsys, "ts", "--set", f"train={spec['train']}", "--set", f"test={spec['test']}",
        match=["Toy_TRAIN.ts:11", "1 dimensions but the header says 2"])
    spec = files.write_ts_pair(tmp_path / "l", ["1,2,3,4:a", "1,2,3,4:c"], ["1,2,3,4:a"])
    bad(capsys, "ts", "--set", f"train={spec['train']}", "--set", f"test={spec['test']}",
        match=["Toy_TRAIN.ts:11", "label 'c'", "@classLabel"])


def test_csv_without_target_column(tmp_path, capsys):
    p = files.toy_csv(tmp_path / "t.csv")
    bad(capsys, "csv", "--set", f"path={p}", "--set", "target=species",
        match=["t.csv", "no column 'species'", "a, color, b, label"])


def test_csv_non_numeric_value(tmp_path, capsys):
    rows = [[i, i * 2, i % 2] for i in range(20)]
    rows[6][1] = "oops"
    p = files.write_csv(tmp_path / "n.csv", ["a", "b", "y"], rows)
    bad(capsys, "csv", "--set", f"path={p}", "--set", "target=y", "--set", "test_split=0.5",
        match=["n.csv:8", "column 'b'", "'oops' is not a number"])


def test_undecodable_image(tmp_path, capsys):
    root = files.image_folder(tmp_path / "imgs")
    (root / "dog" / "broken.png").write_bytes(b"\x89PNG not really")
    bad(capsys, "imagefolder", "--set", f"path={root}", "--set", "test_split=0.5",
        match=["broken.png", "cannot be decoded"])


def test_test_shape_differs_from_train(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", x_train=np.zeros((6, 4)), y_train=np.arange(6) % 2,
             x_test=np.zeros((3, 5)), y_test=np.arange(3) % 2)
    bad(capsys, "npz", "--set", f"path={tmp_path / 'd.npz'}",
        match=["d.npz", "test inputs have shape (5,)", "(4,)"])
    root = files.idx_folder(tmp_path / "m")
    files.write_idx(root / "t10k-images-idx3-ubyte", np.zeros((10, 5, 5)))
    bad(capsys, "idx", "--set", f"path={root}", match=["test inputs have shape (1, 5, 5)"])


def test_unknown_dataset_and_field(capsys):
    bad(capsys, "mnist1dd", match=["unknown dataset 'mnist1dd'", "mnist1d"])
    bad(capsys, "mnist1d", "--set", "shufle_seq=true", match=["data.shufle_seq", "shuffle_seq"])


def test_no_traceback_in_a_real_process(tmp_path):
    r = subprocess.run([sys.executable, "-m", "archopt.cli.main", "data", "info", "csv",
                        "--set", f"path={tmp_path / 'missing.csv'}", "--set", "target=y"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "missing.csv" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ")
