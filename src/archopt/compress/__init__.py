"""Compression: structured pruning, int8 quantization, quantization-aware training and
distillation, each a step that reads a run directory and writes a new one, measured before and
after (size, parameters, MACs, latency, test metric).

``compress(spec)`` runs a spec's ``compress`` section (see ``pipeline``); ``rebuild`` turns any
run's checkpoint back into a model.

Checkpoint format of a compressed run (``checkpoints/best.pt``, ``torch.load(path,
weights_only=True)``; no pickled module anywhere)::

    pruned (prune, and qat/distill before int8):
        {"format": 1,
         "model": state_dict,                     # the smaller tensors
         "structure": {"kind": "pruned",
                       "attributes": {module_name: {attr: int | list | ...}},  # what changed:
                                                  # out_channels, in_features, num_features, ...
                       "shapes": {state_dict_key: [dims]}}}
        rebuild: build_model(spec.model) -> structure.apply (resize attributes and tensors)
                 -> load_state_dict

    int8 (quantize, qat):
        {"format": 1, "model": {},
         "onnx": uint8 tensor,                    # the int8 ONNX model (also model.int8.onnx)
         "structure": {"kind": "onnx_int8", "method": "dynamic" | "static",
                       "base": pruned structure | None,  # the float model it came from
                       "input_shape": [...], "params": int, "nonzero_params": int,
                       "macs": int}}
        rebuild: an ``OnnxModel`` (ONNX Runtime session as an nn.Module); the run directory
                 also holds model.fp32.onnx, the float model the int8 one was made from.
                 Dynamic int8 uses QOperator nodes (DynamicQuantizeLinear, MatMulInteger,
                 ConvInteger); static int8 is QDQ (QuantizeLinear/DequantizeLinear pairs).

    distilled: a plain run of the student's spec (``spec.yaml`` has the student model).
"""

from archopt.callable_package import make_callable
from archopt.compress.pipeline import compress
from archopt.models.structure import rebuild

__all__ = ["compress", "rebuild"]

make_callable(__name__, compress)
