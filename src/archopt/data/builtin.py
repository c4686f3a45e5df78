"""Built-in datasets that need no files: scikit-learn's bundled sets and MNIST-1D.

Every one has a fixed test split (seeded independently of the spec's seed), so its test set never
changes between experiments.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from archopt.data.cache import cache_path, load_cached, save_cached
from archopt.data.dataset import Dataset
from archopt.data.source import fixed_split, from_arrays
from archopt.registry import DATASETS


class SklearnConfig(BaseModel):
    """A scikit-learn bundled dataset."""

    model_config = ConfigDict(extra="forbid")

    test_split: float = Field(0.2, gt=0.0, lt=1.0)  # fraction held out as the fixed test set


def _sklearn(name: str, cfg: SklearnConfig, task: str) -> Dataset:
    from sklearn import datasets as skd

    bunch = getattr(skd, f"load_{name}")()
    x, y = np.asarray(bunch.data, dtype=np.float32), np.asarray(bunch.target)
    classification = task == "classification"
    tr, te = fixed_split(len(x), cfg.test_split, y if classification else None)
    names = [str(c) for c in getattr(bunch, "target_names", [])] if classification else None
    if name == "digits":
        x = x.reshape(-1, 1, 8, 8)  # (N, C, H, W); pixel values 0..16
        names = [str(i) for i in range(10)]
    ds = from_arrays(name, None, task, x[tr], y[tr], x[te], y[te], names)  # type: ignore[arg-type]
    if name != "digits":
        ds.feature_names = [str(f) for f in getattr(bunch, "feature_names", [])]
    return ds


@DATASETS.register("digits", config=SklearnConfig)
def digits(cfg: SklearnConfig, **_: Any) -> Dataset:
    """UCI optical digits (scikit-learn): 1797 8x8 grayscale images, 10 classes."""
    return _sklearn("digits", cfg, "classification")


@DATASETS.register("iris", config=SklearnConfig)
def iris(cfg: SklearnConfig, **_: Any) -> Dataset:
    """Fisher's iris: 150 flowers, 4 features, 3 classes."""
    return _sklearn("iris", cfg, "classification")


@DATASETS.register("wine", config=SklearnConfig)
def wine(cfg: SklearnConfig, **_: Any) -> Dataset:
    """UCI wine: 178 wines, 13 features, 3 classes."""
    return _sklearn("wine", cfg, "classification")


@DATASETS.register("breast_cancer", config=SklearnConfig)
def breast_cancer(cfg: SklearnConfig, **_: Any) -> Dataset:
    """Wisconsin breast cancer: 569 tumours, 30 features, 2 classes."""
    return _sklearn("breast_cancer", cfg, "classification")


@DATASETS.register("diabetes", config=SklearnConfig)
def diabetes(cfg: SklearnConfig, **_: Any) -> Dataset:
    """Diabetes progression: 442 patients, 10 features, a regression target (N, 1)."""
    return _sklearn("diabetes", cfg, "regression")


class MNIST1DConfig(BaseModel):
    """MNIST-1D generated exactly as the paper does (Greydanus 2020); 4000 train, 1000 test."""

    model_config = ConfigDict(extra="forbid")

    shuffle_seq: bool = False      # the paper's control: one fixed permutation of the 40 steps
    num_samples: int = Field(5000, ge=20)  # train + test examples (the paper: 5000)
    data_seed: int = 42            # the generator's seed (the paper: 42); not the spec's seed


def make_mnist1d(cfg: MNIST1DConfig, cache_dir: str | None = None) -> dict[str, np.ndarray]:
    """The raw MNIST-1D arrays (x, y, x_test, y_test), from the cache or generated once.

    ``make_dataset`` reseeds numpy's global RNG: its state is saved and restored around the call.
    ``get_dataset`` is never used (it downloads).
    """
    params = {"generator": "mnist1d.make_dataset", "v": 1, **cfg.model_dump()}
    path = cache_path("mnist1d", params, cache_dir)
    arrays = load_cached(path)
    if arrays is not None:
        return arrays
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.shuffle_seq, args.num_samples, args.seed = cfg.shuffle_seq, cfg.num_samples, cfg.data_seed
    state = np.random.get_state()
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(state)
    arrays = {k: np.asarray(d[k]) for k in ("x", "y", "x_test", "y_test")}
    arrays["x"], arrays["x_test"] = (arrays[k].astype(np.float32) for k in ("x", "x_test"))
    save_cached(path, arrays)
    return arrays


@DATASETS.register("mnist1d", config=MNIST1DConfig)
def mnist1d(cfg: MNIST1DConfig, cache_dir: str | None = None, **_: Any) -> Dataset:
    """MNIST-1D: 40-step 1-D digit sequences (N, 40, 1), 10 classes."""
    a = make_mnist1d(cfg, cache_dir)
    names = [str(i) for i in range(10)]
    return from_arrays("mnist1d", "sequence", "classification", a["x"][..., None], a["y"],
                       a["x_test"][..., None], a["y_test"], names)
