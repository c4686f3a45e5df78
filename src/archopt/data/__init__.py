"""Data: built-in datasets and file formats, splits, normalization, augmentation, loaders.

``load_data(spec, seed)`` builds a dataset from the spec's ``data`` section; ``Loader`` batches
a split; ``build_augment`` makes the batched augmentation function. Importing this package
registers every dataset (``DATASETS``) and augmentation (``AUGMENTATIONS``).
"""

from archopt.data import builtin, formats, synthetic  # noqa: F401  (register datasets)
from archopt.data.augment import build_augment
from archopt.data.dataset import Dataset, DataShape, Split
from archopt.data.load import describe_data, load_data
from archopt.data.loader import Batch, Loader
from archopt.data.split import apply_normalization, fit_normalization
from archopt.data.streaming import StreamingLoader, StreamingSplit

__all__ = ["Batch", "DataShape", "Dataset", "Loader", "Split", "StreamingLoader",
           "StreamingSplit", "apply_normalization",
           "build_augment", "describe_data", "fit_normalization", "load_data"]
