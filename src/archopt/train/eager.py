"""Optimizer calls that do not import torch's compiler stack (``torch._dynamo``).

torch wraps ``Optimizer.add_param_group``, ``zero_grad``, ``state_dict`` and
``load_state_dict`` in ``torch._disable_dynamo``, and every built-in ``step`` in
``_use_grad_for_differentiable``; both import ``torch._dynamo`` on their first call (the
optimizer's constructor calls ``add_param_group``), only so that ``torch.compile`` does not
trace into them. That import costs a process about as much CPU time as ``import torch`` itself
(benchmarks/RESULTS.md, start-up), paid by every training, tuning trial and test.

An eager run compiles nothing, so ``no_compiler_imports()`` hands those four methods their
undecorated function as their "dynamo-disabled" version (the cache slot torch fills on first
call), and ``step(opt)`` calls the undecorated step under ``torch.no_grad()``, which is what the
wrapper does outside compilation. Both are used only when ``train.compile`` is false, and fall
back to torch's own path whenever something they skip matters: optimizer hooks, a
differentiable optimizer, a GradScaler, or a torch whose wrappers look different.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch.optim.optimizer import Optimizer

_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


def no_compiler_imports() -> None:
    """Let the optimizer's ``torch._disable_dynamo`` methods run without importing dynamo.

    torch's wrapper calls ``fn.__dynamo_disable`` when set; in an eager process that is ``fn``.
    Nothing changes once ``torch._dynamo`` is imported anyway (``torch.compile``).
    """
    for name in _METHODS:
        fn = getattr(getattr(Optimizer, name), "__wrapped__", None)
        if fn is not None and getattr(fn, "__dynamo_disable", None) is None:
            setattr(fn, "__dynamo_disable", fn)


def _undecorated_step(opt: Optimizer) -> Any:
    """The optimizer class's own ``step`` function, or None when it is not wrapped as expected."""
    fn = inspect.unwrap(type(opt).step)
    return None if fn is type(opt).step else fn


def _has_hooks(opt: Optimizer) -> bool:
    from torch.optim import optimizer as o

    return bool(o._global_optimizer_pre_hooks or o._global_optimizer_post_hooks
                or getattr(opt, "_optimizer_step_pre_hooks", None)
                or getattr(opt, "_optimizer_step_post_hooks", None))


def step(opt: Optimizer, scaler: Any = None) -> None:
    """``opt.step()`` (through ``scaler`` when it is enabled), without importing dynamo when
    nothing needs it; the same update either way."""
    if scaler is not None and scaler.is_enabled():
        scaler.step(opt)
        return
    fn = _undecorated_step(opt)
    if fn is None or opt.defaults.get("differentiable") or _has_hooks(opt):
        opt.step()
        return
    with torch.no_grad():
        fn(opt)
    opt._opt_called = True  # what the step wrapper tells LR schedulers  # type: ignore[attr-defined]


_REF_MODULES = ("torch._refs", "torch._prims", "torch._decomp", "torch._meta_registrations")


def meta_without_compiler() -> None:
    """Let the meta device run a model's forward without importing dynamo.

    Building a model on the meta device (``report.memory``'s estimate before a byte is
    allocated) runs its shape probes through torch's Python reference kernels, each wrapped in
    ``torch._disable_dynamo``, which imports ``torch._dynamo`` on first call. As for the
    optimizers above, those wrappers get their undecorated function as their cached
    "dynamo-disabled" version. A no-op once dynamo is imported (``train.compile``).
    """
    import sys

    if "torch._dynamo" in sys.modules:
        return
    from torch import _compile

    inner = _compile._disable_dynamo(lambda: None).__code__  # the wrapper's own code
    seen: set[int] = set()
    stack: list[Any] = []
    for name, module in list(sys.modules.items()):
        if name.startswith(_REF_MODULES) and module is not None:
            for value in list(vars(module).values()):  # functions, and tables of them
                tables = value.values() if isinstance(value, dict) else [value]
                for v in list(tables):
                    stack.extend(v.values() if isinstance(v, dict) else [v])
    while stack:
        obj = stack.pop()
        if not callable(obj) or id(obj) in seen:
            continue
        seen.add(id(obj))
        cells = [_cell(c) for c in getattr(obj, "__closure__", None) or ()]
        if getattr(obj, "__code__", None) is inner:
            fn = cells[obj.__code__.co_freevars.index("fn")]
            if fn is not None and getattr(fn, "__dynamo_disable", None) is None:
                fn.__dynamo_disable = fn
        stack.extend(c for c in cells if callable(c))
        stack.append(getattr(obj, "__wrapped__", None))


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell
        return None
