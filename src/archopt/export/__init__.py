"""Export: a run's model as an artifact that takes raw inputs (ONNX, TorchScript or a
torch.export program), checked against PyTorch on the run's test data, with ``metadata.json``.

``export(run_dir, format="onnx")`` writes ``RUN_DIR/export/onnx/{model.onnx,metadata.json}``.
"""

import sys
import types

from archopt.export.export import export
from archopt.export.formats import FILES as FORMATS
from archopt.export.metadata import read_metadata

__all__ = ["FORMATS", "export", "read_metadata"]


class _CallablePackage(types.ModuleType):
    """``archopt.export(...)`` calls ``export``: once this package is imported, Python binds
    ``archopt.export`` to it, not to the function of the same name,
    so the package forwards calls."""

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
