"""Structured pruning of every prunable family, saved as shapes + weights, rebuilt from the spec
and loaded with weights_only: the same outputs, fewer parameters. No training."""

from __future__ import annotations

import io

import pytest
import torch

pytest.importorskip("torch_pruning")

from archopt.compress import masks, prune  # noqa: E402
from archopt.data.dataset import DataShape  # noqa: E402
from archopt.models import build_model, structure  # noqa: E402
from archopt.spec import load_spec  # noqa: E402

SEQ = DataShape("sequence", (40, 1), "classification", 10)
IMG = DataShape("image", (1, 8, 8), "classification", 10)
FAMILIES = [
    ({"name": "cnn", "channels": [8, 8], "norm": "batch", "global_pool": True}, SEQ),
    ({"name": "resnet", "widths": [8, 16], "depths": [1, 1], "stem_channels": 8}, IMG),
    ({"name": "mlp", "hidden": [32, 32], "norm": "batch"}, SEQ),
    ({"name": "transformer", "width": 16, "heads": 2, "depth": 1, "sequence_patch": 4}, SEQ),
    ({"name": "sequential", "layers": [{"flatten": {}}, {"linear": {"out_features": 32}},
                                       {"relu": {}}, {"linear": {"out_features": "auto"}}]},
     SEQ),
]


class Cfg:
    importance, global_pruning, round_to = "l1", False, None


@pytest.mark.parametrize("section, shape", FAMILIES, ids=[f[0]["name"] for f in FAMILIES])
def test_pruned_model_rebuilds_from_shapes(section, shape):
    model = build_model(section, shape, seed=0)
    before = sum(p.numel() for p in model.parameters())
    x = torch.randn(4, *shape.input_shape)
    ignored = prune.ignored_layers(model, [], shape.num_outputs, "t")
    prune.prune_once(model, x, 0.5, Cfg, ignored)
    assert sum(p.numel() for p in model.parameters()) < before
    fresh = build_model(section, shape, seed=0)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "structure": structure.capture(model, fresh)}, buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    spec = load_spec({"data": {"name": "synthetic"}, "model": section}, validate_plugins=False)
    rebuilt = structure.rebuild(spec, shape, state)
    model.eval(), rebuilt.eval()
    assert torch.allclose(model(x), rebuilt(x), atol=1e-6)


def test_recurrent_layers_are_refused_by_name():
    from archopt.errors import UserError

    model = build_model({"name": "rnn", "cell": "lstm", "hidden": 8}, SEQ, seed=0)
    with pytest.raises(UserError, match="LSTM"):
        prune.check_prunable(model, "compress.steps.0")


def test_iterative_schedule_reaches_the_ratio():
    ratios = prune.schedule(0.6, 3)
    kept = 1.0
    for r in ratios:
        kept *= 1.0 - r
    assert kept == pytest.approx(0.4)
    assert len(ratios) == 3 and all(0 < r < 0.6 for r in ratios)


def test_unstructured_masks_zero_the_smallest_weights():
    model = build_model({"name": "mlp", "hidden": [32]}, SEQ, seed=0)
    w = model.features[1].linear.weight if hasattr(model.features[1], "linear") else None
    zeroed = masks.magnitude_masks(model, 0.5, [])
    total = sum(m.weight.numel() for m in model.modules() if isinstance(m, prune.PRUNABLE))
    assert zeroed == pytest.approx(total / 2, rel=0.02)
    assert w is None or bool((w == 0).any())


def test_api_compress_stays_callable_after_the_package_is_imported():
    import archopt
    import archopt.compress.pipeline  # noqa: F401  (sets archopt.compress to the package)
    from archopt.errors import UserError

    with pytest.raises(UserError, match="compress section"):
        archopt.compress({"name": "x", "data": {"name": "digits"}, "model": {"name": "mlp"}})


def test_transformer_loses_whole_heads_with_their_q_k_v_rows():
    from archopt.models.blocks.attention import SelfAttention

    model = build_model({"name": "transformer", "width": 16, "heads": 4, "depth": 1,
                         "sequence_patch": 4}, SEQ, seed=0)
    attn = next(m for m in model.modules() if isinstance(m, SelfAttention))
    w0 = attn.qkv.weight.detach().clone().view(3, 4, 4, 16)  # (q/k/v, head, head size, C)
    x = torch.randn(4, *SEQ.input_shape)
    prune.prune_once(model, x, 0.5, Cfg, prune.ignored_layers(model, [], 10, "t"))
    assert attn.heads == 2 and attn.proj.in_features == 8 and attn.proj.out_features == 16
    w = attn.qkv.weight.detach().view(3, 2, 4, 16)
    kept = [h for h in range(4) if torch.equal(w[0, 0], w0[0, h]) or torch.equal(w[0, 1], w0[0, h])]
    assert len(kept) == 2  # two original heads survive whole ...
    assert torch.equal(w, w0[:, kept])  # ... with their query, key and value rows
    assert model(x).shape == (4, 10)


@pytest.mark.parametrize("round_to, aligned", [(None, False), (16, True)])
def test_round_to_keeps_conv_channels_in_onnxruntime_blocks(round_to, aligned):
    """A 2-d conv net pruned to 0.3 keeps 22/44 channels (no round_to) -- which the step's note
    names, since ONNX Runtime's NCHWc kernels want multiples of 16 -- or 16/32 with round_to 16."""
    section = {"name": "resnet", "widths": [32, 64], "depths": [1, 1], "stem_channels": 32}
    model = build_model(section, IMG, seed=0)
    assert prune.unaligned_channels(model) == []
    cfg = type("C", (), {"importance": "l1", "global_pruning": False, "round_to": round_to})
    prune.prune_once(model, torch.randn(2, *IMG.input_shape), 0.3, cfg,
                     prune.ignored_layers(model, [], IMG.num_outputs, "t"))
    odd = prune.unaligned_channels(model)
    assert (odd == []) == aligned
    if not aligned:
        assert all(c % 16 for c in odd) and odd
        assert str(odd[0]) in prune.ALIGN_NOTE.format(widths=", ".join(map(str, odd)))


def test_unaligned_channels_ignores_1d_convs_and_the_image_input():
    conv1d = build_model({"name": "cnn", "channels": [42, 42]}, SEQ, seed=0)
    assert prune.unaligned_channels(conv1d) == []  # Conv1d: not ONNX Runtime's NCHWc path
    img = build_model({"name": "cnn", "channels": [16, 20]}, IMG, seed=0)
    assert prune.unaligned_channels(img) == [20]  # the 1-channel input is not counted
