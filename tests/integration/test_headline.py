"""A run's headline figures: which weights they come from, said in metrics.json and in the
final table, and ``archopt eval`` agreeing with ``archopt train`` on them (issue 15, item 2)."""

import json

import pytest

WINE = {"name": "wine-mlp", "seed": 3, "device": "cpu",
        "data": {"name": "wine", "batch_size": 32},
        "model": {"name": "mlp", "hidden": [16], "norm": "batch"},
        "train": {"epochs": 5, "optimizer": {"name": "adam", "lr": 0.01}}}


def spec_of(data=None, **train):
    spec = json.loads(json.dumps(WINE))
    spec["train"].update(train)
    spec["data"].update(data or {})
    return spec


def scalars(d):
    return {k: v for k, v in d.items() if isinstance(v, float | int)}


def test_train_and_eval_report_the_same_weights_best_and_last(cli, write_spec, tmp_path):
    # the epoch with the HIGHEST val loss is "best": an early epoch, not the last one
    spec = spec_of(early_stopping={"monitor": "val_loss", "mode": "max", "patience": 50})
    run = tmp_path / "run"
    code, out, err = cli("train", write_spec(spec), "--out", run)
    assert code == 0, err
    m = json.loads((run / "metrics.json").read_text())
    head, last = m["headline"], m["last"]
    assert m["format"] == 2 and head["checkpoint"] == "best" and head["monitor"] == "val_loss"
    assert head["epoch"] < last["epoch"] == m["epochs"] == 5
    assert "highest val_loss on the validation split" in head["chosen_by"]
    lines = [json.loads(x) for x in (run / "history.jsonl").read_text().splitlines()]
    assert head["value"] == max(line["val_loss"] for line in lines)
    assert m["test"]["accuracy"] != last["test"]["accuracy"] or m["test"]["loss"] != \
        last["test"]["loss"]
    # eval agrees with train, for the headline and for the last epoch, to the last digit
    for ckpt, want in (("headline", m), ("best", m), ("last", last)):
        for split in ("test", "val"):
            code, stdout, err = cli("eval", run, "--split", split, "--checkpoint", ckpt, "--json")
            assert code == 0, err
            got = json.loads(stdout)
            assert scalars(want[split]).items() <= got.items()
            assert got["confusion_matrix"] == want[split]["confusion_matrix"]
    # the table says which weights each row is and why
    assert f"headline: best checkpoint, epoch {head['epoch']} of 5" in out
    assert "test @ last epoch" in out and "train (running)" in out
    # the running train figures are the chosen epoch's history line
    line = lines[head["epoch"] - 1]
    assert m["train"]["loss"] == line["train_loss"] and m["train_figures"] == "running"
    assert last["train"]["accuracy"] == lines[-1]["train_accuracy"]


def test_without_validation_data_the_headline_is_the_last_epoch_and_says_so(tmp_path):
    import archopt

    spec = archopt.load_spec(spec_of(data={"val_split": 0.0}, max_steps=12))
    r = archopt.fit(spec, out=tmp_path / "r", quiet=True)
    assert r["headline"]["checkpoint"] == "last" and "val" not in r
    assert "no validation split" in r["headline"]["chosen_by"]
    assert not (tmp_path / "r/checkpoints/best.pt").exists()
    assert r["test"] == r["last"]["test"]
    e = archopt.evaluate(r["run_dir"])
    assert e["checkpoint"].endswith("last.pt") and e["epoch"] == r["epochs"]
    assert scalars(r["test"]).items() <= e.items()


def test_a_gan_headline_is_its_last_epoch(tmp_path):
    import archopt

    spec = archopt.load_spec({"name": "gan", "seed": 0, "device": "cpu",
                              "data": {"name": "digits", "batch_size": 128},
                              "model": {"name": "gan", "latent": 8},
                              "train": {"epochs": 2}})
    r = archopt.fit(spec, out=tmp_path / "g", quiet=True)
    assert r["headline"]["checkpoint"] == "last" and "GAN" in r["headline"]["chosen_by"]
    assert not (tmp_path / "g/checkpoints/best.pt").exists()
    e = archopt.evaluate(r["run_dir"])
    assert e["d_loss"] == pytest.approx(r["test"]["d_loss"], rel=1e-12)


def test_full_train_pass_is_a_choice(tmp_path):
    import archopt

    spec = archopt.load_spec(spec_of(epochs=2, final_train_pass=True))
    r = archopt.fit(spec, out=tmp_path / "f", quiet=True)
    assert r["train_figures"] == "full_pass"
    e = archopt.evaluate(r["run_dir"], "train")
    assert scalars(r["train"]).items() <= e.items()
    assert "confusion_matrix" in r["train"]  # a full pass computes every metric


def test_progress_counts_to_the_limit_that_ends_the_run(cli, write_spec, tmp_path):
    # wine: 114 training examples at batch 32 = 4 steps an epoch; max_steps 10 ends in epoch 3
    spec = spec_of(epochs=100, max_steps=10)
    code, out, err = cli("train", write_spec(spec), "--out", tmp_path / "p")
    assert code == 0, err
    assert "max_steps is reached first and ends the run" in err and "3 epochs of 4 steps" in err
    assert "epoch 1/3" in err and "epoch 3/3" in err and "/100" not in err
    assert "3 epochs, 10 steps" in out
