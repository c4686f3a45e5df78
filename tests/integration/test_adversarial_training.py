"""train.adversarial: PGD training on digits keeps clearly higher PGD accuracy than the same
model trained normally; fast FGSM and TRADES train and resume exactly after a kill; the
catastrophic-overfitting guard stops and restores; bad settings exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

BASE = {"name": "adv", "seed": 3, "device": "cpu",
        "data": {"name": "digits", "val_split": 0.1, "batch_size": 64},
        "model": {"name": "mlp", "hidden": [64]},
        "train": {"epochs": 6, "optimizer": {"name": "adam", "lr": 0.01},
                  "metrics": ["accuracy"], "threads": 1}}


def spec_with(adversarial: dict | None = None, **train) -> dict:
    t = {**BASE["train"], **train}
    if adversarial is not None:
        t["adversarial"] = adversarial
    return {**BASE, "train": t}


def fit(spec: dict, out: Path) -> Path:
    import archopt

    archopt.fit(archopt.load_spec(spec), out=out, quiet=True)
    return out


def pgd_accuracy(run: Path, eps: float = 0.1) -> tuple[float, float]:
    import archopt

    r = archopt.robustness(run, noise="none", attack="pgd", eps=[0.0, eps], relative=True,
                           steps=10, checks=False, out=run / "r")
    return r["clean_accuracy"], r["attacks"]["pgd"]["accuracy"][1]


@pytest.mark.slow
def test_pgd_training_keeps_clearly_higher_pgd_accuracy(tmp_path):
    std = fit(spec_with(), tmp_path / "std")
    adv = fit(spec_with({"method": "pgd", "eps": 0.2, "relative": True, "steps": 5}),
              tmp_path / "adv")
    clean_std, robust_std = pgd_accuracy(std, 0.2)
    clean_adv, robust_adv = pgd_accuracy(adv, 0.2)
    print(f"clean {clean_std:.3f} -> {clean_adv:.3f}, PGD {robust_std:.3f} -> {robust_adv:.3f}")
    assert clean_adv > 0.8 and clean_adv > clean_std - 0.1   # a small cost in clean accuracy
    assert robust_adv > robust_std + 0.25                    # clearly more robust


@pytest.mark.parametrize("method", ["fgsm_rs", "trades"])
def test_a_killed_adversarial_run_resumes_to_the_same_result(cli, write_spec, tmp_path,
                                                             monkeypatch, method):
    from archopt.train import loop

    spec = write_spec(spec_with({"method": method, "eps": 0.1, "relative": True, "steps": 2},
                                epochs=2, checkpoint_every_steps=3))
    code, _, err = cli("train", spec, "--out", tmp_path / "whole", "-q")
    assert code == 0, err
    real = loop.check_finite

    def stop_at_step_5(t, loss, force=False):
        if t.global_step == 5:
            t.interrupted = True
        return real(t, loss, force)

    monkeypatch.setattr(loop, "check_finite", stop_at_step_5)
    code, _, err = cli("train", spec, "--out", tmp_path / "cut", "-q")
    assert code == 130, err
    monkeypatch.setattr(loop, "check_finite", real)
    code, _, err = cli("train", "--resume", tmp_path / "cut", "-q")
    assert code == 0, err
    a = torch.load(tmp_path / "whole" / "checkpoints" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "cut" / "checkpoints" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    hist = [json.loads(x) for x in (tmp_path / "whole" / "history.jsonl").read_text().splitlines()]
    assert all(0.0 <= h["val_pgd_accuracy"] <= 1.0 for h in hist)  # robust selection's figure
    if method == "fgsm_rs":  # the guard watches it, and attacks no training subset of its own
        assert not any("train_pgd_accuracy" in h for h in hist)


@pytest.mark.parametrize("watch_val", [False, True])
def test_the_guard_stops_and_restores_the_best_epoch_on_collapse(monkeypatch, watch_val):
    from types import SimpleNamespace

    from archopt.robust.training import OverfitGuard

    model = torch.nn.Linear(2, 2)
    g = OverfitGuard(step=None, x=torch.zeros(1, 2), y=torch.zeros(1, dtype=torch.int64),
                     watch_val=watch_val)
    accs = [0.30, 0.45, 0.05]
    it = iter(accs)
    monkeypatch.setattr(g, "pgd_accuracy", lambda m: next(it))
    t = SimpleNamespace(model=model, should_stop=False)
    weights = []
    for epoch in (1, 2, 3):
        with torch.no_grad():
            model.weight.fill_(float(epoch))
        weights.append(model.weight.clone())
        logs = {"epoch": epoch, "val_loss": 0.1}
        if watch_val:  # robust selection's figure, measured at validation
            logs["val_pgd_accuracy"] = accs[epoch - 1]
        g.on_epoch_end(t, logs)
        assert t.should_stop is (epoch == 3)
    assert logs["val_loss"] is None and logs["val_pgd_accuracy" if watch_val else
                                             "train_pgd_accuracy"] in (None, 0.05)
    assert ("train_pgd_accuracy" in logs) is not watch_val
    assert torch.equal(model.weight, weights[1])  # epoch 2: the best PGD accuracy
    assert g.state_dict()["collapsed_epoch"] == 3


def history(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]


def test_best_checkpoint_is_the_epoch_of_highest_validation_pgd_accuracy(tmp_path):
    adv = {"method": "fgsm_rs", "eps": 0.1, "relative": True, "guard": False}
    run = fit(spec_with(adv, epochs=4), tmp_path / "robust")
    accs = [h["val_pgd_accuracy"] for h in history(run)]
    assert all(0.0 <= a <= 1.0 for a in accs) and len(set(accs)) > 1
    head = json.loads((run / "metrics.json").read_text())["headline"]
    assert head["monitor"] == "val_pgd_accuracy" and head["mode"] == "max"
    assert head["epoch"] == 1 + accs.index(max(accs)) and head["value"] == max(accs)
    # select: clean keeps the clean validation loss, and measures no PGD accuracy
    run = fit(spec_with({**adv, "select": "clean"}, epochs=2), tmp_path / "clean")
    assert "val_pgd_accuracy" not in history(run)[0]
    assert json.loads((run / "metrics.json").read_text())["headline"]["monitor"] == "val_loss"


def test_early_stopping_can_watch_validation_pgd_accuracy(tmp_path):
    adv = {"method": "fgsm_rs", "eps": 0.1, "relative": True}
    run = fit(spec_with(adv, epochs=2, early_stopping={"monitor": "val_pgd_accuracy",
                                                       "patience": 5}), tmp_path / "r")
    head = json.loads((run / "metrics.json").read_text())["headline"]
    assert head["monitor"] == "val_pgd_accuracy"


@pytest.mark.parametrize("adv,needles", [
    ({"method": "pgd", "eps": 40.0}, ["train.adversarial.eps", "larger than the data's whole"]),
    ({"method": "pgdd", "eps": 0.1}, ["train.adversarial.method"]),
    ({"method": "pgd", "eps": 0.0}, ["train.adversarial.eps"]),
])
def test_bad_adversarial_settings_exit_2(cli, write_spec, tmp_path, adv, needles):
    code, _, err = cli("train", write_spec(spec_with(adv, epochs=1)), "--out", tmp_path / "x")
    assert code == 2, err
    for n in needles:
        assert n in err
    assert not (tmp_path / "x").exists()
