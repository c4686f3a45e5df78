"""Schedules: warm-up values, epoch units converted to steps, conflicting settings."""

import math

import pytest
import torch

from archopt.errors import UserError
from archopt.spec.schema import SchedulerSpec
from archopt.train.schedulers import build_scheduler, scale_lr


def lrs(spec, steps, spe=10, total=100, lr=1.0, opt_name="sgd"):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = (torch.optim.SGD([p], lr=lr, momentum=0.9) if opt_name == "sgd"
           else torch.optim.Adam([p], lr=lr))
    sched = build_scheduler(SchedulerSpec(**spec), opt, spe, total)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_linear_warmup_then_constant_step_schedule():
    got = lrs({"name": "step", "step_size": 100, "warmup_steps": 4}, 7)
    assert got == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0])


def test_warmup_then_cosine_reaches_eta_min_at_the_end():
    got = lrs({"name": "cosine", "warmup_steps": 2, "eta_min": 0.0}, 12, total=12)
    assert got[:3] == pytest.approx([1 / 3, 2 / 3, 1.0])
    # cosine over the remaining 10 steps
    assert got[3] == pytest.approx(0.5 * (1 + math.cos(math.pi * 1 / 10)))
    assert got[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 9 / 10)))


def test_step_size_and_milestones_are_epochs():
    got = lrs({"name": "step", "step_size": 2, "gamma": 0.5}, 50, spe=10)
    assert got[19] == 1.0 and got[20] == 0.5 and got[40] == 0.25
    got = lrs({"name": "multistep", "milestones": [1, 3]}, 40, spe=10)
    assert got[9] == 1.0 and got[10] == pytest.approx(0.1) and got[30] == pytest.approx(0.01)


def test_exponential_gamma_is_per_epoch():
    got = lrs({"name": "exponential", "gamma": 0.5}, 21, spe=10)
    assert got[10] == pytest.approx(0.5) and got[20] == pytest.approx(0.25)


def test_onecycle_peaks_at_max_lr():
    got = lrs({"name": "onecycle", "max_lr": 2.0, "pct_start": 0.5}, 100, total=100)
    assert max(got) == pytest.approx(2.0, rel=1e-3) and got[0] == pytest.approx(2.0 / 25)


@pytest.mark.parametrize("spec,where", [
    ({"name": "onecycle", "warmup_steps": 5}, "train.scheduler.warmup_steps"),
    ({"name": "plateau", "warmup_steps": 5}, "train.scheduler.warmup_steps"),
    ({"name": "multistep", "milestones": [3, 2]}, "train.scheduler.milestones"),
    ({"name": "multistep", "milestones": [20]}, "train.scheduler.milestones"),
    ({"name": "step"}, "train.scheduler.step_size"),
    ({"name": "cosine", "gamma": 0.1}, "train.scheduler.gamma"),
])
def test_conflicting_settings_are_user_errors(spec, where):
    with pytest.raises(UserError) as e:
        lrs(spec, 1)
    assert e.value.where == where


def test_a_warmup_longer_than_the_run_is_capped_with_a_warning(capsys):
    got = lrs({"name": "cosine", "warmup_steps": 500}, 30, total=30)
    err = capsys.readouterr().err
    assert "warning: train.scheduler.warmup_steps: is 500" in err and "3 steps" in err
    assert got[0] == pytest.approx(1.0 / 4) and max(got) == pytest.approx(1.0)  # 3-step warm-up


def test_scale_lr_rescales_the_rate_and_its_schedule():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = build_scheduler(SchedulerSpec(name="cosine", warmup_steps=2), opt, 10, 20)
    for _ in range(5):
        opt.step()
        sched.step()
    before = opt.param_groups[0]["lr"]
    scale_lr(opt, sched, 0.1)
    assert opt.param_groups[0]["lr"] == pytest.approx(before * 0.1)
    opt.step()
    sched.step()
    assert opt.param_groups[0]["lr"] < before * 0.1  # the cosine goes on, from the new rate


def test_plateau_reduces_after_patience():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = build_scheduler(SchedulerSpec(name="plateau", patience=1, factor=0.5), opt, 10, 100)
    for v in [1.0, 1.0, 1.0]:
        sched.step(v)
    assert opt.param_groups[0]["lr"] == 0.5 and sched.monitor == "val_loss"
