"""Export: a run's model as an artifact that takes raw inputs (ONNX, TorchScript or a
torch.export program), checked against PyTorch on the run's test data, with ``metadata.json``.

``export(run_dir, format="onnx")`` writes ``RUN_DIR/export/onnx/{model.onnx,metadata.json}``.
"""

from archopt.callable_package import make_callable
from archopt.export.export import export
from archopt.export.formats import FILES as FORMATS
from archopt.export.metadata import read_metadata

__all__ = ["FORMATS", "export", "read_metadata"]

make_callable(__name__, export)
