import gzip

import numpy as np
import pytest
import torch
from datafiles import (
    cifar10_folder,
    cifar100_folder,
    idx_folder,
    image_folder,
    toy_csv,
    univariate_rows,
    write_csv,
    write_idx,
    write_ts_pair,
)

from archopt.data import Loader, StreamingLoader, load_data
from archopt.data.formats.idx import read_idx
from archopt.errors import UserError


def raw(spec):
    return load_data({"normalize": False, "val_split": 0.0, **spec}, seed=0)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder(tmp_path, gz):
    idx_folder(tmp_path, gz=gz)
    ds = raw({"name": "idx", "path": str(tmp_path)})
    assert ds.kind == "image" and ds.input_shape == (1, 6, 6)
    assert len(ds.train) == 30 and len(ds.test) == 10 and ds.class_names == ["0", "1", "2"]
    opener = gzip.open if gz else open
    suffix = ".gz" if gz else ""
    with opener(tmp_path / f"train-images-idx3-ubyte{suffix}", "rb") as f:
        pixels = np.frombuffer(f.read()[16:], np.uint8)
    assert ds.train.x.flatten().tolist() == pixels.astype(np.float32).tolist()


def test_idx_explicit_paths_and_dtypes(tmp_path):
    idx_folder(tmp_path / "d")
    files = {k: str(tmp_path / "d" / v) for k, v in {
        "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
        "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}.items()}
    ds = raw({"name": "idx", **files})
    assert len(ds.train) == 30
    a = np.arange(6, dtype=">f4").reshape(2, 3)
    (tmp_path / "f.idx").write_bytes(bytes([0, 0, 0x0D, 2]) + np.array([2, 3], ">i4").tobytes()
                                     + a.tobytes())
    assert np.array_equal(read_idx(tmp_path / "f.idx"), a)


def test_idx_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x56\x78abcd")
    with pytest.raises(UserError, match="bad magic"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "cut", np.zeros((5, 4, 4)))
    (tmp_path / "cut").write_bytes((tmp_path / "cut").read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated"):
        read_idx(tmp_path / "cut")


def test_ts_univariate(tmp_path):
    spec = write_ts_pair(tmp_path, univariate_rows(12), univariate_rows(6, 1))
    ds = raw(spec)
    assert ds.kind == "sequence" and ds.input_shape == (4, 1) and ds.class_names == ["a", "b"]
    assert ds.train.lengths is None and ds.train.y.tolist()[:4] == [0, 1, 0, 1]
    first = univariate_rows(1)[0].split(":")[0].split(",")
    assert np.allclose(ds.train.x[0, :, 0].numpy(), [float(v) for v in first])


def test_ts_multivariate_variable_length_and_missing(tmp_path):
    train = ["1,2,3:4,5,6:x", "1,2:3,4:y", "1,?,3,4,?,?:1,2,3,4:x"]
    test = ["5:6:y"]
    ds = raw(write_ts_pair(tmp_path, train, test, classes="x y", dims=2, equal=False,
                           length=None))
    assert ds.input_shape == (4, 2) and ds.train.lengths.tolist() == [3, 2, 4]
    assert ds.test.lengths.tolist() == [1]
    assert ds.train.x[2, :, 0].tolist() == [1, 1, 3, 4]      # inner '?' forward-filled
    assert ds.train.x[1, 2:].abs().sum() == 0                 # zero padding
    assert ds.train.x[0, :, 1].tolist() == [4, 5, 6, 0]
    normed = load_data({**write_ts_pair(tmp_path, train, test, classes="x y", dims=2,
                                        equal=False, length=None), "val_split": 0})
    assert normed.train.x[1, 2:].abs().sum() == 0             # padding stays zero


def test_ts_regression(tmp_path):
    ds = raw(write_ts_pair(tmp_path, ["1,2:0.5", "3,4:1.5"], ["1,1:2.0"], regression=True,
                           length=2))
    assert ds.task == "regression" and ds.train.y.tolist() == [[0.5], [1.5]]


def test_csv_encodes_text_columns_fitted_on_train(tmp_path):
    ds = raw({"name": "csv", "path": str(toy_csv(tmp_path / "t.csv")), "target": "label"})
    assert ds.kind == "tabular" and ds.task == "classification"
    assert ds.class_names == ["no", "yes"] and ds.input_shape == (5,)  # a, 3 colors, b
    assert len(ds.train) == 32 and len(ds.test) == 8
    onehot = ds.train.x[:, 1:4]
    assert torch.all(onehot.sum(1) == 1)


def test_csv_with_test_file_regression_and_impute(tmp_path):
    rows = [[i, i % 3, 2.5 * i + 1] for i in range(20)]
    rows[3][1] = ""
    train = write_csv(tmp_path / "train.csv", ["x", "z", "y"], rows)
    test = write_csv(tmp_path / "test.csv", ["y", "x", "z"], [[3.5, 1, 1], [6.0, 2, 0]])
    with pytest.raises(UserError, match=r"train.csv:5.*missing value in column 'z'"):
        raw({"name": "csv", "path": str(train), "target": "y", "test": str(test)})
    ds = raw({"name": "csv", "path": str(train), "target": "y", "test": str(test),
              "impute": "mean"})
    assert ds.task == "regression" and ds.train.y.shape == (20, 1)
    assert ds.test.x.tolist() == [[1.0, 1.0], [2.0, 0.0]]     # columns by name, not position
    assert ds.train.x[3, 1] == pytest.approx(np.mean([i % 3 for i in range(20) if i != 3]))


def test_csv_integer_targets_are_classes_sorted_as_numbers(tmp_path):
    rows = [[i, [2, 10, 1][i % 3]] for i in range(30)]
    p = write_csv(tmp_path / "d.csv", ["x", "label"], rows)
    ds = raw({"name": "csv", "path": str(p), "target": "label"})
    assert ds.class_names == ["1", "2", "10"]


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x_train=rng.random((10, 5, 2)), y_train=np.arange(10) % 2,
             x_test=rng.random((4, 5, 2)), y_test=np.arange(4) % 2)
    ds = raw({"name": "npz", "path": str(tmp_path / "d.npz")})
    assert ds.kind == "sequence" and ds.input_shape == (5, 2) and ds.num_classes == 2
    np.savez(tmp_path / "r.npz", a=rng.random((10, 3)), b=rng.random(10), c=rng.random((4, 3)),
             d=rng.random(4))
    ds = raw({"name": "npz", "path": str(tmp_path / "r.npz"), "x_train": "a", "y_train": "b",
              "x_test": "c", "y_test": "d"})
    assert ds.kind == "tabular" and ds.task == "regression" and ds.train.y.shape == (10, 1)
    np.savez(tmp_path / "c.npz", x_train=rng.random((10, 1, 4, 4)),
             y_train=(np.arange(10) % 3)[:, None], x_test=rng.random((3, 1, 4, 4)),
             y_test=np.array([[0], [1], [2]]))
    ds = raw({"name": "npz", "path": str(tmp_path / "c.npz")})
    assert ds.kind == "image" and ds.num_classes == 3 and ds.train.y.shape == (10,)


def test_cifar10_and_100(tmp_path):
    ds = raw({"name": "cifar", "path": str(cifar10_folder(tmp_path / "c10"))})
    assert ds.input_shape == (3, 32, 32) and len(ds.train) == 30 and len(ds.test) == 6
    assert ds.class_names[0] == "airplane" and ds.num_classes == 10
    import pickle

    first = pickle.loads((tmp_path / "c10" / "data_batch_1").read_bytes())[b"data"][0]
    assert ds.train.x[0].flatten().tolist() == first.astype(np.float32).tolist()
    ds = raw({"name": "cifar", "path": str(cifar100_folder(tmp_path / "c100"))})
    assert ds.num_classes == 100 and ds.class_names[5] == "f5"
    ds = raw({"name": "cifar", "path": str(tmp_path / "c100"), "labels": "coarse"})
    assert ds.num_classes == 20


def test_imagefolder_split_and_resize(tmp_path):
    image_folder(tmp_path / "imgs")
    ds = raw({"name": "imagefolder", "path": str(tmp_path / "imgs")})
    assert ds.input_shape == (3, 6, 5) and ds.class_names == ["cat", "dog"]
    assert len(ds.train) + len(ds.test) == 12 and len(ds.test) >= 2
    assert ds.train.x.min() >= 0 and ds.train.x.max() <= 1
    ds = raw({"name": "imagefolder", "path": str(tmp_path / "imgs"), "image_size": [4, 4],
              "grayscale": True})
    assert ds.input_shape == (1, 4, 4)


def test_imagefolder_train_test_folders(tmp_path):
    image_folder(tmp_path / "r" / "train", per_class=4)
    image_folder(tmp_path / "r" / "test", per_class=2, fmt="jpg")
    ds = raw({"name": "imagefolder", "path": str(tmp_path / "r")})
    assert len(ds.train) == 8 and len(ds.test) == 4


def test_imagefolder_streaming_matches_in_memory(tmp_path):
    image_folder(tmp_path / "imgs", per_class=10)
    spec = {"name": "imagefolder", "path": str(tmp_path / "imgs"), "val_split": 0.2}
    mem = load_data(spec, seed=1)
    stream = load_data({**spec, "in_memory": False}, seed=1)
    assert len(stream.train) == len(mem.train) and stream.input_shape == mem.input_shape
    assert np.allclose(stream.normalization["mean"], mem.normalization["mean"], atol=1e-5)
    a = Loader(mem.train, 4, shuffle=True, seed=3)
    b = Loader(stream.train, 4, shuffle=True, seed=3)
    assert isinstance(b, StreamingLoader) and len(a) == len(b)
    b.skip(1)
    for x, y in zip(list(a)[1:], b):
        assert torch.allclose(x.x, y.x, atol=1e-5) and torch.equal(x.y, y.y)
    assert b.state_dict()["step"] == len(b)
