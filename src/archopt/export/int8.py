"""int8 runs (``archopt compress`` quantize/qat): their int8 ONNX graph with the run's
normalization in front and the task's output behind, as one ONNX file.

A quantized run already is an ONNX model (ONNX Runtime's int8: QDQ for static quantization,
integer MatMul/Conv for dynamic). It cannot go through ``torch.onnx.export`` again, so the
graph is edited instead: ``inputs`` (raw) -> (x - mean) / std -> the int8 graph -> softmax
(classifiers). Parity is then checked against the run's own int8 model (it must compute the same
thing), and agreement and accuracy against the float model it was quantized from are reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from archopt.data.dataset import DataShape


def is_int8(model: nn.Module) -> bool:
    return bool(getattr(model, "onnx_int8", False)) and hasattr(model, "onnx_bytes")


def _stat_shape(shape: DataShape) -> list[int]:
    if shape.kind == "image":
        return [1, -1, 1, 1]
    return [1, 1, -1] if shape.kind == "sequence" else [1, -1]


def write_int8(model: nn.Module, shape: DataShape, normalization: dict[str, Any], task: str,
               path: Path, output: str) -> dict[str, Any]:
    """Write the int8 graph of ``model`` wrapped with normalization and softmax to ``path``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    m = onnx.load_from_string(model.onnx_bytes)
    g = m.graph
    old_in, old_out = g.input[0], g.output[0]
    new_in = onnx.ValueInfoProto()
    new_in.CopyFrom(old_in)
    new_in.name = "inputs"
    front: list[Any] = []
    if normalization.get("mean"):
        dims = _stat_shape(shape)
        for name, values in (("archopt_mean", normalization["mean"]),
                             ("archopt_std", normalization["std"])):
            arr = np.asarray(values, dtype=np.float32).reshape(
                [len(values) if d == -1 else d for d in dims])
            g.initializer.append(numpy_helper.from_array(arr, name))
        front = [helper.make_node("Sub", ["inputs", "archopt_mean"], ["archopt_centered"]),
                 helper.make_node("Div", ["archopt_centered", "archopt_std"], [old_in.name])]
    else:
        front = [helper.make_node("Identity", ["inputs"], [old_in.name])]
    back = helper.make_node("Softmax" if task == "classification" else "Identity",
                            [old_out.name], [output], **({"axis": -1} if task ==
                                                         "classification" else {}))
    g.input.remove(old_in)
    g.input.insert(0, new_in)
    for node in reversed(front):
        g.node.insert(0, node)
    g.node.append(back)
    g.output.remove(old_out)
    g.output.append(helper.make_tensor_value_info(output, TensorProto.FLOAT,
                                                  ["batch", shape.num_outputs]))
    onnx.checker.check_model(m)
    path.write_bytes(m.SerializeToString())
    ops = {n.op_type for n in g.node}
    layout = "QDQ" if "QuantizeLinear" in ops and "DequantizeLinear" in ops else "integer ops"
    return {"exporter": f"int8 graph of the run ({layout})",
            "opset": next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
                          None), "quantized": True}


def float_reference(run_dir: Path) -> Any:
    """The float model the int8 run was quantized from (``model.fp32.onnx``), or None."""
    fp32 = run_dir / "model.fp32.onnx"
    if not fp32.is_file():
        return None
    from archopt.models.onnx_model import OnnxModel

    return OnnxModel(fp32.read_bytes())
