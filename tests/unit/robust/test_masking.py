"""``measure``: the gradient-masking checks pass on an honest model and flag a hard threshold;
the attacked model stays in eval mode; the same seed gives the same numbers."""

from __future__ import annotations

import pytest
import torch

from archopt.robust.domain import Domain
from archopt.robust.measure import Settings, measure
from robustmodels import digits, linear, threshold, with_batch_norm

PIXELS = Domain(0.0, 16.0, 16.0)
STD = torch.ones(1, 1, 1, 1)


def run(f, attacks=("fgsm", "pgd"), noise=(), seed=0, x=None, y=None):
    _, _, xt, yt = digits()
    s = Settings(noise=list(noise), attacks=list(attacks), eps=[0.0, 0.8, 1.6, 3.2],
                 eps_l2=[0.0, 8.0], steps=10, seed=seed, batch_size=100)
    return measure(f, xt if x is None else x, yt if y is None else y, "image", 10, PIXELS,
                   STD, s)


def failed(result):
    return {c["name"] for c in result["checks"] if not c["passed"]}


def test_an_honest_model_passes_every_masking_check():
    r = run(linear())
    assert r["clean_accuracy"] > 0.85
    assert failed(r) == set() and r["gradient_masking_suspected"] is False
    assert r["strongest"]["accuracy"][-1] < 0.2  # and the attacks did work


def test_a_hard_threshold_is_flagged_as_gradient_masking():
    r = run(threshold())
    assert r["clean_accuracy"] > 0.8
    # gradient attacks find nothing: the curve looks robust ...
    assert r["attacks"]["pgd"]["accuracy"][-1] > 0.5
    # ... and the checks say why it is not
    assert r["gradient_masking_suspected"] is True
    assert {"large_eps", "beats_random"} <= failed(r)


def test_the_attacked_model_stays_in_eval_mode():
    f = with_batch_norm()
    f.train()  # as a careless caller would leave it
    bn = f.inner[2]
    seen = []
    bn.register_forward_pre_hook(lambda m, _: seen.append(m.training))
    before = bn.running_mean.clone()
    run(f, attacks=("fgsm", "pgd", "pgd-l2", "apgd-ce"), noise=("gaussian",))
    assert seen and not any(seen)
    assert torch.equal(bn.running_mean, before)  # batch statistics never updated


def test_the_same_seed_gives_the_same_numbers_and_another_seed_other_draws():
    f = linear()
    a = run(f, attacks=("pgd", "apgd-ce"), noise=("gaussian", "salt_and_pepper"), seed=3)
    b = run(f, attacks=("pgd", "apgd-ce"), noise=("gaussian", "salt_and_pepper"), seed=3)
    for r in (a, b):
        for c in r["attacks"].values():
            c.pop("time_s")
    assert a == b
    c = run(f, attacks=(), noise=("gaussian", "salt_and_pepper"), seed=4)
    assert c["noise"] != a["noise"]


def test_strongest_is_the_per_example_worst_case_and_flips_are_ordered():
    r = run(linear(), attacks=("fgsm", "pgd", "apgd-ce"))
    s = r["strongest"]
    for i in range(len(s["eps"])):
        assert s["accuracy"][i] <= min(r["attacks"][n]["accuracy"][i]
                                      for n in ("fgsm", "pgd", "apgd-ce")) + 1e-9
    per_class = [v for v in s["per_class"][-1] if v is not None]
    assert len(per_class) == 10 and min(per_class) <= s["accuracy"][-1] <= max(per_class)
    eps = [f["eps"] for f in r["first_flips"]]
    assert eps == sorted(eps) and eps[0] == 0.8


@pytest.mark.parametrize("kind,names,shape", [
    ("image", ["gaussian", "blur", "contrast", "salt_and_pepper"], (20, 1, 8, 8)),
    ("sequence", ["gaussian", "jitter", "time_shift", "dropped_steps"], (20, 16, 2)),
    ("tabular", ["gaussian", "feature_noise"], (20, 5)),
])
def test_every_corruption_changes_inputs_more_as_it_grows_and_stays_in_range(kind, names,
                                                                                shape):
    from archopt.robust.noise import CORRUPTIONS, Context, corrupt, for_kind

    assert for_kind(kind) == names
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0)) * 16
    std = x.flatten(0, -2).std(0) if kind != "image" else torch.ones(1, 1, 1, 1)
    for name in names:
        grid = [g * 16 if CORRUPTIONS[name].relative else g for g in CORRUPTIONS[name].grid]
        change = []
        for g in grid:
            out = corrupt(name, x, g, Context(PIXELS, std, torch.Generator().manual_seed(1)))
            assert out.shape == x.shape and float(out.min()) >= 0 and float(out.max()) <= 16
            change.append(float((out - x).abs().mean()))
        assert change[0] == 0.0 and change[-1] > 0.0, name
