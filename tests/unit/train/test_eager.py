"""Optimizer steps without torch's compiler stack are the same steps (issue 15, item 3)."""

import subprocess
import sys
import warnings

import pytest
import torch

from archopt.registry import OPTIMIZERS
from archopt.spec.schema import OptimizerSpec
from archopt.train import eager
from archopt.train.optimizers import build_optimizer


def train(name: str, use_eager: bool) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.BatchNorm1d(8),
                                torch.nn.ReLU(), torch.nn.Linear(8, 3))
    opt = build_optimizer(OptimizerSpec(name=name, lr=0.05, weight_decay=1e-3), model)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 10)
    gen = torch.Generator().manual_seed(1)
    for _ in range(6):
        x, y = torch.randn(16, 6, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        eager.step(opt) if use_eager else opt.step()
        sched.step()
    state = {f"opt.{i}.{k}": v for i, s in opt.state_dict()["state"].items()
             for k, v in s.items() if torch.is_tensor(v)}
    return {**model.state_dict(), **state}


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_eager_step_is_torchs_step(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "lr_scheduler.step() before optimizer.step()"
        a, b = train(name, True), train(name, False)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_hooks_still_run():
    model = torch.nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    opt.register_step_post_hook(lambda *a: seen.append(1))
    model(torch.ones(1, 2)).sum().backward()
    eager.step(opt)
    assert seen == [1]


@pytest.mark.parametrize("data,model", [
    ("{'name': 'synthetic', 'num_train': 64}", "{'name': 'mlp', 'hidden': [8]}"),
    # a conv net's shape probes run on the meta device for the memory estimate
    ("{'name': 'synthetic', 'kind': 'image', 'num_train': 64}",
     "{'name': 'cnn', 'channels': [4], 'head': [8]}"),
])
def test_a_training_process_imports_neither_the_compiler_nor_scikit_learn(tmp_path, data, model):
    """Each costs a training process about as much CPU time as importing torch."""
    code = (
        "import sys, archopt\n"
        f"spec = archopt.load_spec({{'name': 's', 'device': 'cpu', 'data': {data},"
        f" 'model': {model},"
        " 'train': {'max_steps': 2, 'metrics': ['accuracy', 'f1_macro', 'top2_accuracy'],"
        " 'scheduler': {'name': 'cosine'}, 'clip_grad_norm': 1.0}})\n"
        f"archopt.fit(spec, out={str(tmp_path / 'run')!r}, quiet=True)\n"
        f"archopt.fit(spec, resume={str(tmp_path / 'run')!r}, quiet=True)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')"
        " or m.startswith('torch._dynamo')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
