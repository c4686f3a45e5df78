import pytest
import torch

from archopt.data import build_augment
from archopt.data.dataset import DataShape
from archopt.errors import UserError
from archopt.registry import AUGMENTATIONS

SHAPES = {"image": (6, 2, 8, 8), "sequence": (6, 12, 2), "tabular": (6, 5)}
CASES = [("gaussian_noise", {"std": 0.1}, ("image", "sequence", "tabular")),
         ("random_shift", {"max": 2}, ("image", "sequence")),
         ("random_crop", {"padding": 2}, ("image",)),
         ("horizontal_flip", {"p": 0.5}, ("image",)),
         ("cutout", {"size": 3}, ("image", "sequence")),
         ("time_mask", {"max_width": 3}, ("sequence",)),
         ("scale", {"min": 0.5, "max": 1.5}, ("image", "sequence", "tabular")),
         ("mixup", {"alpha": 1.0}, ("image", "sequence", "tabular")),
         ("random_affine", {"degrees": 15, "shear": 10}, ("image",))]


def test_every_registered_augmentation_is_tested():
    assert sorted(AUGMENTATIONS.names()) == sorted(c[0] for c in CASES)


@pytest.mark.parametrize("name,params,kinds", CASES)
@pytest.mark.parametrize("kind", ["image", "sequence", "tabular"])
def test_augmentation(name, params, kinds, kind):
    if kind not in kinds:
        with pytest.raises(UserError, match=f"data.augment.0.*{name}"):
            build_augment([{"name": name, **params}], kind)
        return
    fn = build_augment([{"name": name, **params}], kind, num_classes=3)
    x = torch.randn(SHAPES[kind]) + 1.0
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    a_x, a_y = fn(x.clone(), y, torch.Generator().manual_seed(0))
    b_x, b_y = fn(x.clone(), y, torch.Generator().manual_seed(0))
    c_x, _ = fn(x.clone(), y, torch.Generator().manual_seed(1))
    assert a_x.shape == x.shape and a_x.dtype == x.dtype
    assert torch.equal(a_x, b_x) and torch.equal(a_y, b_y)  # same generator, same result
    assert not torch.equal(a_x, x)                          # it does change the data
    assert not torch.equal(a_x, c_x)                        # and depends on the generator
    if name == "mixup":
        assert a_y.shape == (6, 3) and a_y.dtype == torch.float32
        assert torch.allclose(a_y.sum(1), torch.ones(6))
    else:
        assert torch.equal(a_y, y)


def test_empty_list_builds_nothing():
    assert build_augment([], "image") is None and build_augment(None, "tabular") is None


def test_composition_applies_in_order_and_takes_a_datashape():
    shape = DataShape("sequence", (12, 2), "classification", 4)
    fn = build_augment([{"name": "scale", "min": 2.0, "max": 2.0}, {"name": "mixup"}], shape)
    x, y = fn(torch.ones(5, 12, 2), torch.tensor([0, 1, 2, 3, 0]), torch.Generator())
    assert torch.allclose(x, torch.full_like(x, 2.0)) and y.shape == (5, 4)


def test_shift_moves_sequences_and_fills_zeros():
    fn = build_augment([{"name": "random_shift", "max": 3}], "sequence")
    x = torch.arange(1, 11, dtype=torch.float32).view(1, 10, 1).repeat(50, 1, 1)
    out, _ = fn(x, torch.zeros(50), torch.Generator().manual_seed(0))
    for row in out[:, :, 0]:
        nz = row[row != 0]
        assert torch.all(nz[1:] - nz[:-1] == 1) and len(nz) >= 7  # a shifted run, zero filled


def test_regression_mixup_mixes_targets():
    fn = build_augment([{"name": "mixup", "alpha": 0.4}], "tabular")
    y = torch.arange(6, dtype=torch.float32).view(6, 1)
    x = y.repeat(1, 3)
    ox, oy = fn(x, y, torch.Generator().manual_seed(3))
    assert oy.shape == (6, 1) and torch.allclose(ox[:, :1], oy)


def test_bad_parameter_names_the_field():
    with pytest.raises(UserError, match="data.augment.0.std"):
        build_augment([{"name": "gaussian_noise", "std": -1}], "tabular")


def test_random_affine_without_motion_is_the_identity_and_a_pure_shift_moves_pixels():
    x = torch.zeros(2, 1, 8, 8)
    x[:, :, 2:6, 3:5] = 1.0
    gen = torch.Generator().manual_seed(0)
    still = build_augment([{"name": "random_affine", "degrees": 0, "translate": 0,
                            "scale_min": 1, "scale_max": 1}], "image")
    assert torch.allclose(still(x, None, gen)[0], x, atol=1e-6)
    moved, _ = build_augment([{"name": "random_affine", "degrees": 0, "translate": 0.25,
                               "scale_min": 1, "scale_max": 1}], "image")(x, None, gen)
    assert not torch.allclose(moved, x, atol=1e-3)
    assert moved.sum().item() == pytest.approx(x.sum().item(), rel=0.3)  # shifted, not erased
    with pytest.raises(UserError, match="scale_min"):
        build_augment([{"name": "random_affine", "scale_min": 2, "scale_max": 1}], "image")
