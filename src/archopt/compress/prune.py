"""``prune``: structured pruning on Torch-Pruning (DepGraph), and unstructured magnitude masks.

Structured pruning removes whole channels, neurons (and, through Torch-Pruning's dependency
graph, the matching inputs of the next layers, residual adds and norms), so the pruned model is
a smaller dense model that really runs faster. ``ratio`` is Torch-Pruning's ``pruning_ratio``: the
share of channels removed in every prunable layer (0.3 removes about half the parameters of a
conv net). A ``target`` (MACs, parameters or measured latency at batch 1) prunes in small
one-shot steps until the model meets it. ``iterative_steps`` splits a ratio into that many
prune-and-fine-tune rounds.

Kept whole: the output layer, the layers named in ``ignore``, and in a transformer everything but
the feed-forward hidden units (its attention splits its input width into heads, which pruning
would break). Recurrent layers cannot be pruned (Torch-Pruning has no GRU/RNN pruner and only a
one-layer LSTM one): a UserError names the layer.

Unstructured pruning zeroes the smallest weights (a sparsity ``ratio`` of every Linear/Conv
weight). The tensors keep their shapes, and PyTorch's dense kernels on CPU do not skip zeros, so
the measured speedup is about 1.0: the report says so.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from archopt.compress.masks import PRUNABLE
from archopt.errors import UserError, suggest


def _tp() -> Any:
    try:
        import torch_pruning as tp
    except ImportError:
        raise UserError("compress.steps", "structured pruning needs Torch-Pruning",
                        "pip install 'archopt[compress]' -c constraints.txt") from None
    return tp


def importance(name: str) -> Any:
    """Torch-Pruning's importance criterion for a spec name."""
    imp = _tp().importance
    return {"l1": lambda: imp.GroupMagnitudeImportance(p=1),
            "l2": lambda: imp.GroupMagnitudeImportance(p=2),
            "bn_scale": imp.BNScaleImportance,
            "taylor": imp.GroupTaylorImportance,
            "random": imp.RandomImportance}[name]()


def check_prunable(model: nn.Module, where: str) -> None:
    """A UserError naming the first layer Torch-Pruning cannot handle."""
    for name, mod in model.named_modules():
        if isinstance(mod, nn.RNNBase):
            raise UserError(where, f"layer '{name}' ({type(mod).__name__}) cannot be pruned "
                            "structurally: Torch-Pruning has no pruner for recurrent cells",
                            "prune a cnn, resnet, mlp, transformer or sequential model, or use "
                            "quantize (dynamic int8 handles LSTM/GRU)")
        if isinstance(mod, nn.MultiheadAttention):
            raise UserError(where, f"layer '{name}' (MultiheadAttention) cannot be pruned "
                            "reliably (Torch-Pruning issue #196)", "use the transformer family")


def output_layer(model: nn.Module, num_outputs: int) -> nn.Module | None:
    """The layer that produces the outputs (never pruned)."""
    head = getattr(model, "head", None)
    if isinstance(head, PRUNABLE):
        return head
    last = None
    for mod in model.modules():
        if isinstance(mod, PRUNABLE):
            last = mod
    return last


def ignored_layers(model: nn.Module, ignore: Iterable[str], num_outputs: int,
                   where: str) -> list[nn.Module]:
    """The output layer, the user's ``ignore`` list, and a transformer's width-coupled layers."""
    from archopt.models.blocks.attention import SelfAttention
    from archopt.models.blocks.mlp import FeedForward

    modules = dict(model.named_modules())
    out = [m for m in [output_layer(model, num_outputs)] if m is not None]
    for name in ignore:
        if name not in modules:
            raise UserError(f"{where}.ignore", f"no layer named '{name}'",
                            suggest(name, modules) or "see `archopt profile` for layer names")
        out.append(modules[name])
    if any(isinstance(m, SelfAttention) for m in model.modules()):
        # the feed-forward hidden units and the attention heads (qkv's outputs, proj's inputs):
        # everything else is tied to the residual width
        free = {id(m.net[0]) for m in model.modules() if isinstance(m, FeedForward)}
        free |= {id(m.qkv) for m in model.modules() if isinstance(m, SelfAttention)}
        out += [m for m in model.modules() if isinstance(m, PRUNABLE) and id(m) not in free]
    return out


def attention_heads(model: nn.Module) -> dict[nn.Module, int]:
    """Each self-attention's qkv layer and its number of heads (Torch-Pruning's num_heads)."""
    from archopt.models.blocks.attention import SelfAttention

    return {m.qkv: m.heads for m in model.modules() if isinstance(m, SelfAttention)}


def prune_once(model: nn.Module, example: torch.Tensor, ratio: float, cfg: Any, ignored: list,
               grad_fn: Callable[[nn.Module], None] | None = None) -> None:
    """One one-shot structured pruning of ``ratio`` of the channels, in place.

    Attention heads are removed whole (``ratio`` of each block's heads, rounded down, at least
    one kept), never single head dimensions; the blocks' ``heads`` follow.
    """
    from archopt.models.blocks.attention import SelfAttention

    tp = _tp()
    imp = importance(cfg.importance)
    heads = attention_heads(model)
    pruner = tp.pruner.BasePruner(model, example, importance=imp, pruning_ratio=ratio,
                                  ignored_layers=ignored, global_pruning=cfg.global_pruning,
                                  round_to=cfg.round_to, iterative_steps=1, num_heads=heads,
                                  prune_num_heads=bool(heads), prune_head_dims=False,
                                  head_pruning_ratio=ratio if heads else 0.0)
    if cfg.importance == "taylor":
        if grad_fn is None:
            raise ValueError("taylor importance needs gradients")
        model.zero_grad()
        grad_fn(model)
    with torch.no_grad():
        pruner.step()
    for m in model.modules():
        if isinstance(m, SelfAttention):
            m.heads = pruner.num_heads[m.qkv]
    model.zero_grad(set_to_none=True)


def schedule(ratio: float, steps: int) -> list[float]:
    """Per-round ratios (of the channels left) so that after round k, k/steps of ``ratio`` of
    the original channels are gone (Torch-Pruning's linear schedule, one-shot per round)."""
    kept = [1.0 - ratio * k / steps for k in range(steps + 1)]
    return [1.0 - kept[k] / kept[k - 1] for k in range(1, steps + 1)]


def cost(model: nn.Module, example: torch.Tensor, kind: str,
         measure_latency: Callable[[nn.Module], float]) -> float:
    """The model's MACs, parameters or measured batch-1 latency."""
    if kind == "params":
        return float(sum(p.numel() for p in model.parameters()))
    if kind == "macs":
        from archopt.report.profile import count_flops

        model.eval()
        return count_flops(model, example[:1])[0] / 2.0  # per example, like the report
    return measure_latency(model)


def target_of(target: Any) -> tuple[str, float]:
    """(kind, goal) of a PruneTarget: its one set field among macs, params, latency_ms."""
    return next((k, float(getattr(target, k))) for k in ("macs", "params", "latency_ms")
                if getattr(target, k) is not None)


def prune_to_target(model: nn.Module, example: torch.Tensor, cfg: Any, ignored: list,
                    measure_latency: Callable[[nn.Module], float],
                    grad_fn: Callable | None, where: str, step: float = 0.05,
                    max_rounds: int = 60) -> list[dict[str, float]]:
    """Prune ``step`` of the channels left, round after round, until the target is met.

    Returns the path: one ``{round, cost}`` per round (for the report).
    """
    kind, goal = target_of(cfg.target)
    now = cost(model, example, kind, measure_latency)
    if goal >= now:
        raise UserError(f"{where}.target.{kind}", f"{goal:g} is not below the model's current "
                        f"{kind} ({now:g})", f"give a target below {now:g}")
    path = [{"round": 0, kind: now}]
    for i in range(1, max_rounds + 1):
        before = sum(p.numel() for p in model.parameters())
        prune_once(model, example, step, cfg, ignored, grad_fn)
        now = cost(model, example, kind, measure_latency)
        path.append({"round": i, kind: now})
        if now <= goal:
            return path
        if sum(p.numel() for p in model.parameters()) == before:
            break  # nothing left to prune
    raise UserError(f"{where}.target.{kind}", f"pruning stopped at {now:g}, above the target "
                    f"{goal:g}", "give a larger target, or fewer layers in ignore")


# -- the step --------------------------------------------------------------------------------

def check(step: Any, spec: Any, data: Any, model: nn.Module, where: str) -> None:
    """What can be known before pruning: the layers, the ignore list, the target."""
    if getattr(model, "onnx_int8", False):
        raise UserError(where, "the model is already quantized to int8; it cannot be pruned",
                        "put prune before quantize in compress.steps")
    if step.method == "structured":
        _tp()
        check_prunable(model, where)
    ignored_layers(model, step.ignore, data.shape.num_outputs, where)
    if step.target is not None and step.target.latency_ms is None:
        kind, goal = target_of(step.target)
        from archopt.report.profile import example_input

        now = cost(model, example_input(model, data.shape, 1), kind, lambda m: 0.0)
        if goal >= now:
            raise UserError(f"{where}.target.{kind}", f"{goal:g} is not below the model's "
                            f"current {kind} ({now:g})", f"give a target below {now:g}")


def run(step: Any, ctx: Any, step_dir: Any, where: str) -> None:
    """Prune ``ctx.model`` (rounds of prune + fine-tune), write the step's run directory."""
    from archopt.compress import masks
    from archopt.compress.finetune import finetune, finetune_spec
    from archopt.compress.record import save_model, write_step
    from archopt.models import build_model, structure
    from archopt.train.checkpoint import load_checkpoint, save_checkpoint

    spec, shape = ctx.spec, ctx.shape
    fresh = build_model(spec.model, shape, seed=spec.seed)
    example = ctx.example(2)
    model = copy.deepcopy(ctx.model)  # ctx.model stays the "before"
    base = ctx.state.get("structure")
    rounds = 1 if step.target is not None else step.iterative_steps
    ratios = [] if step.target is not None else schedule(step.ratio, rounds)
    notes, path = [], None
    ft = finetune_spec(spec, step.finetune.epochs, step.finetune.lr)
    for k in range(1, rounds + 1):
        round_dir = step_dir if k == rounds else step_dir / f"round-{k}"
        round_dir.mkdir(parents=True, exist_ok=True)
        start = round_dir / "checkpoints" / "pruned.pt"
        if (round_dir / "checkpoints" / "done.pt").is_file():  # a finished round (resume)
            state = load_checkpoint(round_dir / "checkpoints" / "done.pt")
            model = structure.rebuild(spec, shape, state)
            continue
        if start.is_file():  # pruned before a kill: rebuild it, resume its fine-tune
            model = structure.rebuild(spec, shape, load_checkpoint(start))
        else:
            torch.manual_seed(spec.seed + k)  # random importance, taylor batches: seeded
            ignored = ignored_layers(model, step.ignore, shape.num_outputs, where)
            grads = _grad_fn(ctx) if step.importance == "taylor" else None
            if step.method == "unstructured":
                masks.magnitude_masks(model, step.ratio, ignored)
            elif step.target is not None:
                path = prune_to_target(model, example, step, ignored,
                                       _latency_fn(ctx, example, step.target.runtime), grads,
                                       where)
            else:
                prune_once(model, example, ratios[k - 1], step, ignored, grads)
            _check_forward(model, shape, where)
            save_checkpoint(start, {"model": model.state_dict(),
                                    "structure": _structure(model, fresh, base)})
        if step.finetune.epochs:
            hooks = masks.keep_zeros(model) if step.method == "unstructured" else []
            model = finetune(ft, model, round_dir, ctx.quiet)
            for h in hooks:
                h.remove()
        model = model.cpu().eval()
        save_checkpoint(round_dir / "checkpoints" / "done.pt",
                        {"model": model.state_dict(), "structure": _structure(model, fresh, base)})
    if step.method == "unstructured":
        notes.append("unstructured: weights are zeroed, shapes unchanged; PyTorch's dense CPU "
                     "kernels do not skip zeros, so expect a latency ratio of about 1.0")
    elif (odd := unaligned_channels(model)) and step.round_to is None:
        notes.append(ALIGN_NOTE.format(widths=", ".join(map(str, odd))))
    save_model(step_dir, model, _structure(model, fresh, base))
    details = {"target_path": path} if path else {}
    write_step(step, ctx, step_dir, ft, model, notes=notes + [RUNTIME_NOTE], details=details,
               extra_latency=_in_onnxruntime(ctx, model))


RUNTIME_NOTE = ("latency is measured in PyTorch (eager) and, exported, in ONNX Runtime "
                "('others.onnxruntime_fp32_*'); at batch 1 a small model's eager time is mostly "
                "per-operator overhead that pruning does not remove, so its eager ratio lags "
                "the MACs ratio (see benchmarks/RESULTS.md)")


ALIGN_NOTE = ("2-d convolutions kept {widths} channels, not multiples of 16: ONNX Runtime's fast "
              "blocked convolutions (NCHWc) work on blocks of 16 channels on AVX-512 (8 on "
              "AVX2), so such a layer computes padded channels or falls back to a slower kernel, "
              "and in ONNX Runtime the pruned model can be no faster than the dense one; "
              "round_to: 16 keeps the counts aligned (benchmarks/RESULTS.md)")


def unaligned_channels(model: nn.Module, block: int = 16) -> list[int]:
    """The distinct channel counts of the 2-d convolutions that are not multiples of ``block``
    (the input image's channels excepted): what keeps ONNX Runtime off its NCHWc kernels."""
    odd = set()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            odd.add(m.out_channels)
            if m.in_channels > 4:  # a 1-4 channel image input is handled by NCHWc as it is
                odd.add(m.in_channels)
    return sorted(c for c in odd if c % block)


def _in_onnxruntime(ctx: Any, model: nn.Module) -> dict[str, nn.Module]:
    """The model before and after, exported and run by ONNX Runtime (empty if it cannot)."""
    from archopt.compress.onnxrt import onnxruntime_fp32

    ex = ctx.example(1)
    before = onnxruntime_fp32(ctx.model, ex, ctx.compress.threads)
    after = onnxruntime_fp32(model, ex, ctx.compress.threads)
    if before is None or after is None:
        return {}
    return {"onnxruntime_fp32_before": before, "onnxruntime_fp32_after": after}


def _structure(model: nn.Module, fresh: nn.Module, base: Any) -> dict[str, Any]:
    from archopt.models import structure

    return structure.capture(model, fresh)


def _check_forward(model: nn.Module, shape: Any, where: str) -> None:
    from archopt.models.build import check_output

    try:
        check_output(model, shape)
    except UserError as err:
        raise UserError(where, f"the pruned model no longer runs ({err.what})",
                        "add the failing layer to ignore, or report the model") from None


def _grad_fn(ctx: Any, batches: int = 4) -> Callable[[nn.Module], None]:
    """Accumulates the task's loss gradients over a few training batches (Taylor importance)."""
    from archopt.train import setup

    def fn(model: nn.Module) -> None:
        parts = setup.build_parts(ctx.spec, model, ctx.shape)
        x, y = ctx.data.train.x, ctx.data.train.y
        bs = ctx.spec.data.batch_size
        model.train()
        for i in range(batches):
            xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
            if len(xb) == 0:
                break
            out = model(xb)
            parts.task.loss(parts.loss_fn, model, out, parts.task.target(xb, yb)).backward()
        model.eval()
    return fn


def _latency_fn(ctx: Any, example: torch.Tensor, runtime: str = "torch"
                ) -> Callable[[nn.Module], float]:
    """The batch-1 latency (median ms) of a model in PyTorch or, exported, in ONNX Runtime."""
    from archopt.compress.measure import clock, interleaved_latency, threads
    from archopt.compress.onnxrt import onnxruntime_fp32

    x = example[:1]

    def fn(model: nn.Module) -> float:
        model.eval()
        run = onnxruntime_fp32(model, x, ctx.compress.threads) if runtime == "onnxruntime" \
            else model
        c = ctx.compress
        with threads(c.threads):
            return interleaved_latency({"m": lambda: run(x)}, c.repeats,
                                       clock=clock(c.clock, c.threads))["m"]["median"]
    return fn
