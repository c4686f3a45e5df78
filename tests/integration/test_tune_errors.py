"""Bad tune input through the real CLI: exit 2, one message naming the field or value, no
traceback, nothing written. Each case is one line of the tuning issue's list."""

from __future__ import annotations

import pytest
import yaml

BASE = {
    "name": "t",
    "data": {"name": "digits", "batch_size": 64},
    "model": {"name": "mlp", "hidden": [16]},
    "train": {"epochs": 1},
    "tune": {"space": {"train.optimizer.lr": {"float": [0.001, 0.1], "log": True}},
             "objectives": {"val_accuracy": "max"}, "trials": 2},
}


def spec_with(**tune) -> dict:
    s = yaml.safe_load(yaml.safe_dump(BASE))
    s["tune"].update(tune)
    return s


def check(result, *needles):
    code, out, err = result
    assert code == 2, f"exit {code}, stderr: {err}"
    assert err.startswith("error: "), err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, f"{n!r} not in {err!r}"
    return err


CASES = {
    "not a spec field": (dict(space={"train.optimizer.lrr": {"float": [0.1, 1]}}),
                         ["tune.space.train.optimizer.lrr", "did you mean 'lr'"]),
    "not a model field": (dict(space={"model.hiden": {"choice": [[8], [16]]}}),
                          ["tune.space.model.hiden", "did you mean 'hidden'"]),
    "not a section": (dict(space={"trian.epochs": {"int": [1, 3]}}),
                      ["tune.space.trian.epochs", "did you mean 'train'"]),
    "reversed range": (dict(space={"train.optimizer.lr": {"float": [1, 0]}}),
                       ["tune.space.train.optimizer.lr.float", "low must be below high"]),
    "log with bound 0": (dict(space={"train.optimizer.lr": {"float": [0, 1], "log": True}}),
                         ["tune.space.train.optimizer.lr.log", "low > 0"]),
    "empty choice": (dict(space={"model.hidden": {"choice": []}}),
                     ["tune.space.model.hidden.choice", "empty choice"]),
    "invalid value at a bound": (dict(space={"train.optimizer.lr": {"float": [0, 0.1]}}),
                                 ["tune.space.train.optimizer.lr", "greater than 0"]),
    "unknown sampler": (dict(sampler={"name": "tpee"}),
                        ["tune.sampler.name", "did you mean 'tpe'"]),
    "unknown pruner": (dict(pruner={"name": "medain"}),
                       ["tune.pruner.name", "did you mean 'median'"]),
    "unknown sampler option": (dict(sampler={"name": "tpe", "n_startup_trial": 3}),
                               ["tune.sampler.n_startup_trial", "did you mean 'n_startup_trials'"]),
    "unknown pruner option": (dict(pruner={"name": "median", "n_warmup_step": 3}),
                              ["tune.pruner.n_warmup_step", "did you mean 'n_warmup_steps'"]),
    "grid over a continuous range": (dict(sampler={"name": "grid"}),
                                     ["tune.space.train.optimizer.lr", "continuous"]),
    "objective that is no metric": (dict(objectives={"val_acuracy": "max"}),
                                    ["tune.objectives.val_acuracy", "did you mean 'val_accuracy'"]),
    "test-split objective": (dict(objectives={"test_accuracy": "max"}),
                             ["tune.objectives.test_accuracy", "leaks the test set"]),
    "constraint on an unknown cost": (dict(constraints={"parms": {"max": 100}}),
                                      ["tune.constraints.parms", "did you mean 'params'"]),
    "hyperband with several objectives": (
        dict(objectives={"val_accuracy": "max", "params": "min"},
             pruner={"name": "hyperband"}), ["tune.pruner.name", "hyperband"]),
    "unknown tune key": (dict(trails=3), ["tune.trails", "did you mean 'trials'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_tune_section(case, cli, write_spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tune, needles = CASES[case]
    out = tmp_path / "study"
    check(cli("tune", write_spec(spec_with(**tune)), "--out", out), *needles)
    assert not out.exists() and not (tmp_path / "studies").exists()


def test_unreachable_storage_hides_password(cli, write_spec, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "study"
    err = check(cli("tune", write_spec(BASE), "--out", out, "--storage",
                    "postgresql://alice:s3cretpw@127.0.0.1:1/optuna"),
                "--storage", "cannot open the storage", "127.0.0.1")
    assert "s3cretpw" not in err
    assert not out.exists()


@pytest.mark.parametrize("url,needle", [
    ("not a url", "malformed storage URL"),
    ("mongodb://bob:pw123456@host/db", "unsupported storage"),
])
def test_malformed_storage_url(cli, write_spec, tmp_path, url, needle):
    out = tmp_path / "study"
    err = check(cli("tune", write_spec(BASE), "--out", out, "--storage", url), needle)
    assert "pw123456" not in err
    assert not out.exists()


def test_resume_of_a_folder_that_is_not_a_study(cli, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("hi")
    check(cli("tune", "--resume", tmp_path / "x"), "not a study directory")
    assert sorted(p.name for p in (tmp_path / "x").iterdir()) == ["notes.txt"]


def test_resume_with_a_changed_space(cli, write_spec, tmp_path):
    study = tmp_path / "study"
    study.mkdir()
    (study / "spec.yaml").write_text(yaml.safe_dump(BASE))
    (study / "study.json").write_text('{"study": "t", "fingerprint": "0000", "objectives": {}}')
    before = sorted(p.name for p in study.iterdir())
    changed = spec_with(space={"train.optimizer.lr": {"float": [0.01, 0.1]}})
    check(cli("tune", write_spec(changed), "--resume", study), "space or objectives differ")
    assert sorted(p.name for p in study.iterdir()) == before


def test_no_tune_section(cli, write_spec, tmp_path):
    spec = dict(BASE)
    spec.pop("tune")
    check(cli("tune", write_spec(spec), "--out", tmp_path / "s"), "no tune: section")
    assert not (tmp_path / "s").exists()
