"""Memory a model will need, estimated before it is built, against what the machine has.

The model is built on PyTorch's ``meta`` device (shapes, no storage), so a model of 10 G
parameters costs nothing to measure. Training holds the weights, their gradients, the
optimizer's state (Adam keeps two values per weight, SGD with momentum one) and the activations
kept for backward: the summed layer outputs of one example (as ``profile`` reports them) times
the batch size. ``check_memory`` refuses a model that cannot fit (a ``UserError`` naming the
size and the machine's memory) and warns near the limit.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from archopt.errors import UserError, warn

WARN_FRACTION = 0.7  # warn when the estimate passes this share of the available memory


def optimizer_slots(optimizer: Any) -> int:
    """Values of state an optimizer keeps per weight (Adam: 2, momentum: 1, SGD: 0)."""
    name = optimizer.name
    p = optimizer.params() if hasattr(optimizer, "params") else {}
    if name == "sgd":
        return int(p.get("momentum", 0) > 0)
    if name in ("momentum", "nesterov", "adagrad"):
        return 1
    if name == "rmsprop":
        return 1 + int(p.get("momentum", 0) > 0) + int(bool(p.get("centered", False)))
    if name in ("adam", "adamw"):
        return 2 + int(bool(p.get("amsgrad", False)))
    return 2


def meta_model(section: Any, shape: Any) -> nn.Module | None:
    """The model's layers built on the meta device (no memory, no forward), or None when a
    layer cannot be."""
    from archopt.registry import MODELS

    params = dict(section.section() if hasattr(section, "section") else section)
    name = params.pop("name", None)
    if name is None:
        return None
    cfg = MODELS.validate(name, params, "model")
    from archopt.train.eager import meta_without_compiler  # lazy: archopt.train imports us

    meta_without_compiler()  # its shape probes would import torch's compiler stack (seconds)
    try:
        with torch.device("meta"):
            return MODELS.get(name, "model.name").fn(cfg, shape)
    except UserError:
        raise
    except Exception:  # a layer without meta support, or a size error build_model will name
        return None


@torch.no_grad()
def activation_bytes(model: nn.Module, shape: Any) -> int:
    """Summed output bytes of every leaf module for one example (one forward at batch 1)."""
    total = 0

    def hook(mod: nn.Module, args: Any, out: Any) -> None:
        nonlocal total
        outs = out if isinstance(out, list | tuple) else (out,)
        total += sum(t.numel() * t.element_size() for t in outs if isinstance(t, torch.Tensor))

    leaves = [m for m in model.modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(hook) for m in leaves]
    device = next(iter(model.parameters()), torch.zeros(())).device
    was_training = model.training
    model.eval()
    try:
        if getattr(model, "task", None) == "generation":
            model.generator(torch.zeros(1, model.latent_dim, device=device))
        else:
            model(torch.zeros(1, *shape.input_shape, device=device))
    except Exception:  # the model's own check has already named any shape mistake
        return 0
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return total


def estimate(spec: Any, shape: Any, batch_size: int | None = None, training: bool = True,
             model: nn.Module | None = None) -> dict[str, Any] | None:
    """Bytes a spec's model needs: weights, gradients, optimizer state, activations.

    Without ``model`` the layers are built on the meta device and activations are left out
    (0): what can be known before anything is allocated. None when that cannot be built.
    """
    if model is None:
        model = meta_model(spec.model, shape)
        if model is None:
            return None
        act_one = 0
    else:
        act_one = activation_bytes(model, shape)
    params = sum(p.numel() for p in model.parameters())
    weight_bytes = sum(t.numel() * t.element_size() for t in (*model.parameters(),
                                                               *model.buffers()))
    batch = batch_size or spec.data.batch_size
    slots = optimizer_slots(spec.train.optimizer) if training else 0
    grad = params * 4 if training else 0
    state = params * 4 * slots
    act = act_one * batch
    return {"params": params, "weights": weight_bytes, "gradients": grad,
            "optimizer_state": state, "optimizer": spec.train.optimizer.name,
            "activations": act, "batch_size": batch, "measured_activations": act_one > 0,
            "total": weight_bytes + grad + state + act, "training": training}


def available_memory(device: torch.device) -> tuple[int, int, str]:
    """(available bytes, total bytes, what) of the device's memory."""
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return int(free), int(total), f"{device} has"
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    free = total
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        pass
    return free, total, "this machine has"


def gib(n: float) -> str:
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / 2**20:.1f} MiB"


def count(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:,.0f}"


def describe(e: dict[str, Any]) -> str:
    """'1.2 GiB to train (300.0 M parameters: 1.1 GiB weights, ...)'."""
    parts = [f"{gib(e['weights'])} weights"]
    if e["training"]:
        parts.append(f"{gib(e['gradients'])} gradients")
        if e["optimizer_state"]:
            parts.append(f"{gib(e['optimizer_state'])} {e['optimizer']} state")
    if e["measured_activations"]:
        parts.append(f"{gib(e['activations'])} activations at batch {e['batch_size']}")
    doing = "to train" if e["training"] else "to run"
    return f"{gib(e['total'])} {doing} ({count(e['params'])} parameters: {', '.join(parts)})"


def check_memory(spec: Any, shape: Any, device: torch.device, processes: int = 1,
                 batch_size: int | None = None, training: bool = True,
                 model: nn.Module | None = None, where: str = "model") -> dict[str, Any] | None:
    """Refuse (UserError) a model whose estimate exceeds the available memory; warn near it.

    Call it twice: without ``model`` before building (weights, gradients and optimizer state,
    from the meta device: refuses only), then with the built model (adds the activations of a
    batch, measured at batch 1: refuses or warns). ``processes`` is how many copies share this
    machine's memory (DDP on CPU).
    """
    e = estimate(spec, shape, batch_size, training, model)
    if e is None:
        return None
    free, total, has = available_memory(device)
    copies = processes if device.type != "cuda" else 1
    need = e["total"] * copies
    times = f" x {copies} processes" if copies > 1 else ""
    if need > free:
        raise UserError(where, f"needs about {describe(e)}{times} but {has} "
                        f"{gib(free)} of memory available ({gib(total)} in all)",
                        "make the model smaller (fewer or narrower layers), lower "
                        "data.batch_size, or use a machine with more memory")
    if model is not None and need > WARN_FRACTION * free:
        warn(where, f"needs about {describe(e)}{times}, close to the {gib(free)} {has} "
             "available", "the run may swap or be killed")
    return e
