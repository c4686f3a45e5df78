import numpy as np
import pytest
import torch

from archopt.data import load_data
from archopt.data.builtin import MNIST1DConfig, make_mnist1d
from archopt.data.cache import cache_path


def raw(name, **kw):
    return load_data({"name": name, "normalize": False, "val_split": 0.0, **kw}, seed=0)


def test_mnist1d_is_the_papers_data():
    ds = raw("mnist1d")
    assert ds.kind == "sequence" and ds.input_shape == (40, 1) and ds.task == "classification"
    assert len(ds.train) == 4000 and len(ds.test) == 1000 and ds.val is None
    assert ds.train.y[:10].tolist() == [2, 6, 4, 5, 6, 6, 6, 0, 3, 1]
    assert ds.test.y[:10].tolist() == [2, 6, 3, 9, 4, 3, 1, 9, 5, 2]
    np.testing.assert_allclose(ds.train.x[0, :4, 0].numpy(),
                               [-0.332006, -0.47191, -0.778697, -1.009741], atol=1e-5)
    assert ds.class_names == [str(i) for i in range(10)]


def test_mnist1d_restores_numpy_global_rng(tmp_path):
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    make_mnist1d(MNIST1DConfig(num_samples=100), str(tmp_path))  # a cache miss: generates
    assert np.allclose(np.random.rand(3), expected)


def test_mnist1d_cache_is_written_and_used(tmp_path, monkeypatch):
    cfg = MNIST1DConfig(num_samples=200)
    first = make_mnist1d(cfg, str(tmp_path))
    path = cache_path("mnist1d", {"generator": "mnist1d.make_dataset", "v": 1,
                                  **cfg.model_dump()}, str(tmp_path))
    assert path.is_file() and not list(tmp_path.glob("*.tmp"))
    import mnist1d.data

    def boom(*a, **k):
        raise AssertionError("regenerated instead of reading the cache")

    monkeypatch.setattr(mnist1d.data, "make_dataset", boom)
    second = make_mnist1d(cfg, str(tmp_path))
    for k in first:
        np.testing.assert_array_equal(first[k], second[k])


def test_mnist1d_cache_dir_from_spec(tmp_path):
    load_data({"name": "mnist1d", "num_samples": 100, "cache_dir": str(tmp_path / "c")})
    assert len(list((tmp_path / "c").glob("mnist1d-*.npz"))) == 1


def test_mnist1d_shuffled_control_permutes_time_steps():
    plain, shuffled = raw("mnist1d"), raw("mnist1d", shuffle_seq=True)
    assert torch.equal(plain.train.y, shuffled.train.y)
    assert not torch.allclose(plain.train.x, shuffled.train.x)
    # one fixed permutation for every train and test sequence
    x, xs = plain.train.x[:, :, 0], shuffled.train.x[:, :, 0]
    match = torch.cdist(xs.T, x.T).argmin(dim=1)          # shuffled step j = plain step p[j]
    assert sorted(match.tolist()) == list(range(40))
    assert torch.allclose(xs, x[:, match], atol=1e-6)
    assert torch.allclose(shuffled.test.x[:, :, 0], plain.test.x[:, match, 0], atol=1e-6)


@pytest.mark.parametrize("name,kind,shape,task,classes,n", [
    ("digits", "image", (1, 8, 8), "classification", 10, 1797),
    ("iris", "tabular", (4,), "classification", 3, 150),
    ("wine", "tabular", (13,), "classification", 3, 178),
    ("breast_cancer", "tabular", (30,), "classification", 2, 569),
    ("diabetes", "tabular", (10,), "regression", None, 442),
])
def test_sklearn_datasets(name, kind, shape, task, classes, n):
    ds = raw(name)
    assert (ds.kind, ds.input_shape, ds.task, ds.num_classes) == (kind, shape, task, classes)
    assert len(ds.train) + len(ds.test) == n
    assert abs(len(ds.test) - round(0.2 * n)) <= 3
    assert ds.train.x.dtype == torch.float32
    if task == "classification":
        assert ds.train.y.dtype == torch.int64 and ds.train.y.ndim == 1
    else:
        assert ds.train.y.dtype == torch.float32 and ds.train.y.shape == (len(ds.train), 1)


def test_digits_pixels_are_0_to_16():
    ds = raw("digits")
    assert ds.train.x.min() == 0 and ds.train.x.max() == 16


def test_test_split_does_not_depend_on_the_seed():
    a = load_data({"name": "wine", "normalize": False}, seed=1)
    b = load_data({"name": "wine", "normalize": False}, seed=2)
    c = load_data({"name": "wine", "normalize": False}, seed=1)
    assert torch.equal(a.test.x, b.test.x) and torch.equal(a.test.y, b.test.y)
    assert torch.equal(a.val.x, c.val.x) and torch.equal(a.train.x, c.train.x)
    assert not torch.equal(a.val.x, b.val.x)


@pytest.mark.parametrize("kind,shape", [("classification", (8,)), ("regression", (8,)),
                                        ("sequence", (32, 8)), ("image", (1, 8, 8))])
def test_synthetic_kinds(kind, shape):
    ds = raw("synthetic", kind=kind)
    assert ds.input_shape == shape and len(ds.train) == 256 and len(ds.test) == 64
    assert ds.task == ("regression" if kind == "regression" else "classification")
    again = raw("synthetic", kind=kind)
    assert torch.equal(ds.train.x, again.train.x)


def test_synthetic_variable_length_sequences_are_padded():
    ds = raw("synthetic", kind="sequence", length=10, variable_length=True, features=2)
    assert ds.train.lengths is not None and ds.shape.variable_length
    for x, n in zip(ds.train.x, ds.train.lengths):
        assert torch.all(x[n:] == 0) and 5 <= n <= 10


def test_unknown_dataset_parameter_is_a_user_error():
    from archopt.errors import UserError

    with pytest.raises(UserError, match="data.shuffle_seqq"):
        load_data({"name": "mnist1d", "shuffle_seqq": True})
