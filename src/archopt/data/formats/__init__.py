"""File formats users bring their data in; each module registers one dataset name."""

from archopt.data.formats import cifar, csvfile, idx, imagefolder, npz, ts  # noqa: F401
