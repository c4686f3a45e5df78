import pytest
import torch

from archopt.data import apply_normalization, fit_normalization, load_data
from archopt.data.dataset import Split
from archopt.data.split import split_indices


def test_normalization_is_fitted_on_train_only_and_applied_to_every_split():
    spec = {"name": "wine", "val_split": 0.2}
    raw = load_data({**spec, "normalize": False}, seed=3)
    ds = load_data(spec, seed=3)
    mean = raw.train.x.double().mean(0)
    std = raw.train.x.double().std(0, unbiased=False)
    assert torch.allclose(torch.tensor(ds.normalization["mean"], dtype=torch.double), mean)
    assert torch.allclose(torch.tensor(ds.normalization["std"], dtype=torch.double), std)
    every = torch.cat([raw.train.x, raw.val.x, raw.test.x]).double().mean(0)
    assert not torch.allclose(mean, every)  # stats of train alone, not of all the data
    for name in ("train", "val", "test"):
        expect = (getattr(raw, name).x - mean.float()) / std.float()
        assert torch.allclose(getattr(ds, name).x, expect, atol=1e-5)
    assert isinstance(ds.normalization["mean"], list)


def test_images_are_normalized_per_channel():
    ds = load_data({"name": "synthetic", "kind": "image", "channels": 3}, seed=0)
    assert len(ds.normalization["mean"]) == 3
    m = ds.train.x.mean(dim=(0, 2, 3))
    assert torch.allclose(m, torch.zeros(3), atol=1e-4)


def test_apply_normalization_reapplies_saved_stats():
    ds = load_data({"name": "iris"}, seed=0)
    raw = load_data({"name": "iris", "normalize": False}, seed=0)
    again = apply_normalization(raw.test.x.numpy(), ds.normalization)
    assert torch.allclose(again, ds.test.x, atol=1e-6)
    assert torch.equal(apply_normalization(raw.test.x, {}), raw.test.x)


def test_padding_of_variable_length_sequences_stays_zero():
    x = torch.zeros(3, 5, 2)
    x[0, :2], x[1, :5], x[2, :3] = 1.0, 3.0, 2.0
    lengths = torch.tensor([2, 5, 3])
    norm = fit_normalization(Split(x, torch.zeros(3, dtype=torch.long), lengths))
    assert norm["mean"][0] == pytest.approx((2 * 1 + 5 * 3 + 3 * 2) / 10)  # real steps only
    out = apply_normalization(x, norm, lengths)
    assert torch.all(out[0, 2:] == 0) and torch.all(out[2, 3:] == 0)
    assert torch.all(out[1] != 0)


def test_val_split_is_stratified_and_seeded():
    ds = load_data({"name": "digits", "val_split": 0.2}, seed=5)
    counts = torch.bincount(ds.val.y, minlength=10).float()
    share = counts / torch.bincount(torch.cat([ds.train.y, ds.val.y]), minlength=10)
    assert torch.all((share - 0.2).abs() < 0.02)
    same = load_data({"name": "digits", "val_split": 0.2}, seed=5)
    assert torch.equal(ds.val.x, same.val.x)
    other = load_data({"name": "digits", "val_split": 0.2}, seed=6)
    assert not torch.equal(ds.val.x, other.val.x)


def test_no_val_split():
    ds = load_data({"name": "iris", "val_split": 0.0})
    assert ds.val is None and len(ds.train) == 120


def test_regression_val_split_is_random_and_disjoint():
    gen = torch.Generator().manual_seed(0)
    keep, held = split_indices(50, 0.2, gen)
    assert len(held) == 10 and len(keep) == 40
    assert set(keep.tolist()).isdisjoint(held.tolist())
    assert sorted(keep.tolist() + held.tolist()) == list(range(50))


def test_data_spec_errors_name_the_field():
    from archopt.errors import UserError

    with pytest.raises(UserError, match="data.val_split"):
        load_data({"name": "iris", "val_split": 1.5})


def test_public_api_points_here():
    import archopt
    import archopt.data

    assert archopt.load_data is archopt.data.load_data
    assert archopt.describe_data is archopt.data.describe_data
    d = archopt.describe_data("breast_cancer")
    assert d["splits"] == {"train": 409, "val": 46, "test": 114}
    assert sum(d["class_balance"]["train"].values()) == 409
