"""Contract tests over every registered loss, optimizer, scheduler, metric, callback and task:
each builds from its defaults, runs, stays finite, and its state survives a round trip."""

import copy
import math

import pytest
import torch
from torch import nn

from archopt.registry import CALLBACKS, LOSSES, METRICS, OPTIMIZERS, SCHEDULERS, TASKS
from archopt.spec.schema import OptimizerSpec, SchedulerSpec
from archopt.train.losses import LOSS_TASKS
from archopt.train.metrics import METRIC_TASKS, NON_SCALAR
from archopt.train.optimizers import build_optimizer
from archopt.train.schedulers import build_scheduler, is_per_epoch

# the settings an entry requires (no default); a new entry with required fields goes here
REQUIRED = {"step": {"step_size": 1}, "multistep": {"milestones": [1, 2]},
            "exponential": {"gamma": 0.9}}


def tiny():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def batch(task):
    g = torch.Generator().manual_seed(0)
    out = torch.randn(6, 3, generator=g, requires_grad=True)
    if task == "classification":
        return out, torch.randint(0, 3, (6,), generator=g)
    return out, torch.randn(6, 3, generator=g)


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_is_finite_and_has_gradients(name):
    loss = LOSSES.build({"name": name}, "train.loss", num_classes=3)
    task = sorted(LOSS_TASKS[name])[0]
    if task == "generation":
        fake, real = batch("regression")
        value = loss.d_loss(real, fake) + loss.g_loss(fake)
        out = fake
    else:
        out, y = batch(task)
        value = loss(out, y)
    value.backward()
    assert value.ndim == 0 and math.isfinite(value.item())
    assert out.grad is not None and torch.isfinite(out.grad).all()


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_steps_and_resumes_exactly(name):
    x, y = torch.randn(16, 4), torch.randint(0, 3, (16,))

    def step(m, opt):
        opt.zero_grad()
        nn.functional.cross_entropy(m(x), y).backward()
        opt.step()

    spec = OptimizerSpec(name=name, lr=0.01, weight_decay=0.01)
    a = tiny()
    opt_a = build_optimizer(spec, a)
    before = [p.clone() for p in a.parameters()]
    step(a, opt_a)
    assert any(not torch.equal(p, q) for p, q in zip(a.parameters(), before))
    b = tiny()
    b.load_state_dict(a.state_dict())
    opt_b = build_optimizer(spec, b)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))  # as if saved and loaded
    step(a, opt_a)
    step(b, opt_b)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("name", SCHEDULERS.names())
@pytest.mark.parametrize("warmup", [0, 3])
def test_every_scheduler_resumes_exactly(name, warmup):
    if warmup and name in ("onecycle", "plateau"):
        pytest.skip("warm-up conflicts with this schedule (tested in unit tests)")
    spec = SchedulerSpec(name=name, warmup_steps=warmup, **REQUIRED.get(name, {}))

    def make():
        p = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
        return opt, build_scheduler(spec, opt, steps_per_epoch=5, total_steps=20)

    def advance(opt, sched, n):
        for i in range(n):
            opt.step()
            sched.step(1.0 / (i + 1)) if is_per_epoch(sched) else sched.step()

    opt_a, a = make()
    advance(opt_a, a, 7)
    opt_b, b = make()
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    b.load_state_dict(copy.deepcopy(a.state_dict()))
    advance(opt_a, a, 6)
    advance(opt_b, b, 6)
    lr_a, lr_b = opt_a.param_groups[0]["lr"], opt_b.param_groups[0]["lr"]
    assert lr_a == lr_b and math.isfinite(lr_a) and lr_a >= 0


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_runs_on_its_task(name):
    task = sorted(METRIC_TASKS[name])[0]
    out, y = batch(task)
    value = METRICS.get(name).fn(out.detach(), y)
    if name in NON_SCALAR:
        assert isinstance(value, list)
    else:
        assert isinstance(value, float) and math.isfinite(value)


@pytest.mark.parametrize("name", CALLBACKS.names())
def test_every_callback_has_hooks_and_a_state(tmp_path, name):
    from types import SimpleNamespace

    ctx = {"run_dir": tmp_path, "seed": 0, "shape": SimpleNamespace(kind="image"), "mode": "lines"}
    section = {"name": name}
    cb = CALLBACKS.build(section, "callbacks", **ctx)
    for hook in ("on_fit_start", "on_epoch_start", "on_batch_end", "on_validation_end",
                 "on_epoch_end", "on_fit_end"):
        assert callable(getattr(cb, hook))
    state = cb.state_dict()
    cb.load_state_dict(state)
    assert cb.state_dict() == state
    assert CALLBACKS.get(name).doc


@pytest.mark.parametrize("name", TASKS.names())
def test_every_task_has_defaults_that_fit_it(name):
    task = TASKS.build({"name": name}, "train.task")
    assert name in LOSS_TASKS[task.default_loss]
    assert all(name in METRIC_TASKS[m] for m in task.default_metrics)
